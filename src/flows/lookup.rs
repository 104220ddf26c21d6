//! The flow and brand lookups the pages need before they run a flow: a flow's slug by id, the
//! brand a request's host picks ([`brand_for_host`]: authentik's `get_brand_for_request`), and
//! which flow signs a visitor in, signs them out or runs the device-code sign-in for that brand.

use crate::context::Context;
use crate::domain::{Brand, FlowDesignation, brand_match};
use crate::store::{self, StoreResult};

/// A flow's slug by id (pages redirect to `/if/flow/<slug>/`); `None` for no id or no such flow.
pub async fn flow_slug(ctx: &Context, id: Option<&str>) -> StoreResult<Option<String>> {
    let Some(id) = id else {
        return Ok(None);
    };
    let mut conn = ctx.store().read().await?;
    Ok(store::flows::get(&mut conn, id).await?.map(|f| f.slug))
}

/// The brand for a request to `host` (the `Host` header; `None` outside HTTP): the brand whose
/// domain matches it (longest first), else the default brand.
pub async fn brand_for_host(ctx: &Context, host: Option<&str>) -> StoreResult<Option<Brand>> {
    let mut conn = ctx.store().read().await?;
    let brands = store::brands::list(&mut conn).await?;
    Ok(brand_match::brand_for_host(&brands, host).cloned())
}

/// The default brand (what a caller without a request, such as the CLI, uses).
pub async fn default_brand(ctx: &Context) -> StoreResult<Option<Brand>> {
    brand_for_host(ctx, None).await
}

/// The first flow of a designation by slug (authentik's `ToDefaultFlow` when the brand names
/// none).
async fn first_flow(ctx: &Context, designation: FlowDesignation) -> StoreResult<Option<String>> {
    let mut conn = ctx.store().read().await?;
    let mut slugs: Vec<String> = store::flows::list(&mut conn)
        .await?
        .into_iter()
        .filter(|f| f.designation == designation)
        .map(|f| f.slug)
        .collect();
    slugs.sort();
    Ok(slugs.into_iter().next())
}

/// Where an anonymous visitor signs in: the provider's own authentication flow when it has one,
/// else the authentication flow of the brand `host` picks.
pub async fn authentication_flow(
    ctx: &Context,
    host: Option<&str>,
    provider_flow: Option<&str>,
) -> StoreResult<Option<String>> {
    if let Some(slug) = flow_slug(ctx, provider_flow).await? {
        return Ok(Some(slug));
    }
    let Some(brand) = brand_for_host(ctx, host).await? else {
        return Ok(None);
    };
    flow_slug(ctx, brand.flow_authentication_id.as_deref()).await
}

/// authentik's `/flows/-/default/authentication/` (where `/` sends a visitor nobody signed in):
/// the brand's authentication flow, else the first authentication flow by slug.
pub async fn default_authentication_flow(
    ctx: &Context,
    host: Option<&str>,
) -> StoreResult<Option<String>> {
    match authentication_flow(ctx, host, None).await? {
        Some(slug) => Ok(Some(slug)),
        None => first_flow(ctx, FlowDesignation::Authentication).await,
    }
}

/// The device-code flow of the brand `host` picks (the `/device` pages run it after the code
/// is entered).
pub async fn device_code_flow(ctx: &Context, host: Option<&str>) -> StoreResult<Option<String>> {
    let Some(brand) = brand_for_host(ctx, host).await? else {
        return Ok(None);
    };
    flow_slug(ctx, brand.flow_device_code_id.as_deref()).await
}

/// Where a cancelled flow or a sign-out goes (authentik's default invalidation flow): the
/// invalidation flow of the brand `host` picks, else the first invalidation flow by slug;
/// `None` when there is none.
pub async fn invalidation_flow(ctx: &Context, host: Option<&str>) -> StoreResult<Option<String>> {
    if let Some(brand) = brand_for_host(ctx, host).await?
        && let Some(slug) = flow_slug(ctx, brand.flow_invalidation_id.as_deref()).await?
    {
        return Ok(Some(slug));
    }
    first_flow(ctx, FlowDesignation::Invalidation).await
}
