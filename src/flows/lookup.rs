//! The flow and brand lookups the pages need before they run a flow: a flow's slug by id, the
//! default brand (latchkey serves one brand per instance), and which flow signs a visitor in,
//! signs them out or runs the device-code sign-in.

use crate::context::Context;
use crate::domain::{Brand, FlowDesignation};
use crate::store::{self, StoreResult};

/// A flow's slug by id (pages redirect to `/if/flow/<slug>/`); `None` for no id or no such flow.
pub async fn flow_slug(ctx: &Context, id: Option<&str>) -> StoreResult<Option<String>> {
    let Some(id) = id else {
        return Ok(None);
    };
    let mut conn = ctx.store().read().await?;
    Ok(store::flows::get(&mut conn, id).await?.map(|f| f.slug))
}

/// The brand used for every host.
pub async fn default_brand(ctx: &Context) -> StoreResult<Option<Brand>> {
    let mut conn = ctx.store().read().await?;
    Ok(store::brands::list(&mut conn)
        .await?
        .into_iter()
        .find(|b| b.default))
}

/// Where an anonymous visitor signs in: the provider's own authentication flow when it has one,
/// else the default brand's.
pub async fn authentication_flow(
    ctx: &Context,
    provider_flow: Option<&str>,
) -> StoreResult<Option<String>> {
    if let Some(slug) = flow_slug(ctx, provider_flow).await? {
        return Ok(Some(slug));
    }
    let Some(brand) = default_brand(ctx).await? else {
        return Ok(None);
    };
    flow_slug(ctx, brand.flow_authentication_id.as_deref()).await
}

/// The default brand's device-code flow (the `/device` pages run it after the code is entered).
pub async fn device_code_flow(ctx: &Context) -> StoreResult<Option<String>> {
    let Some(brand) = default_brand(ctx).await? else {
        return Ok(None);
    };
    flow_slug(ctx, brand.flow_device_code_id.as_deref()).await
}

/// Where a cancelled flow goes (authentik's default invalidation flow): the default brand's
/// invalidation flow, else the first invalidation flow by slug; `None` when there is none.
pub async fn invalidation_flow(ctx: &Context) -> StoreResult<Option<String>> {
    if let Some(brand) = default_brand(ctx).await?
        && let Some(slug) = flow_slug(ctx, brand.flow_invalidation_id.as_deref()).await?
    {
        return Ok(Some(slug));
    }
    let mut conn = ctx.store().read().await?;
    let mut slugs: Vec<String> = store::flows::list(&mut conn)
        .await?
        .into_iter()
        .filter(|f| f.designation == FlowDesignation::Invalidation)
        .map(|f| f.slug)
        .collect();
    slugs.sort();
    Ok(slugs.into_iter().next())
}
