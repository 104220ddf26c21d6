//! Typed settings of every stage, policy and connector kind, under authentik's field names and
//! with authentik's defaults, defined once here for the flows, the blueprint reader/writer and
//! the console forms.
//!
//! A kind's settings are one struct whose serde form is the JSON object the store keeps in the
//! `settings` column. Every struct is `#[serde(default)]`: a missing field takes its default,
//! so a store written before these types existed opens unchanged. Reading stored settings is
//! lenient (an unknown key is ignored and a value of the wrong type takes the field's default,
//! as the flows treated such values before); the blueprint reader checks types strictly.

mod codec;

/// Declares the enum over one family's settings structs (one variant per kind, named like the
/// kind's variant) with the conversions every family shares.
macro_rules! kind_settings {
    (
        $(#[$meta:meta])*
        $name:ident: $kind:ident {
            $($variant:ident($ty:ident)),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(tag = "kind", content = "settings", rename_all = "snake_case")]
        pub enum $name {
            $(
                #[doc = concat!("The settings of the `", stringify!($variant), "` kind.")]
                $variant($ty),
            )+
        }

        impl $name {
            /// The kind these settings belong to; objects derive their kind from it, so the
            /// two cannot disagree.
            pub fn kind(&self) -> $kind {
                match self {
                    $($name::$variant(_) => $kind::$variant,)+
                }
            }

            /// authentik's defaults for `kind`.
            pub fn default_for(kind: $kind) -> Self {
                match kind {
                    $($kind::$variant => $name::$variant($ty::default()),)+
                }
            }

            /// Reads stored settings of `kind`: a missing or unknown field, or one of the
            /// wrong type, never fails (it takes the default), so every stored row loads.
            pub fn from_json(kind: $kind, value: &serde_json::Value) -> Self {
                match kind {
                    $($kind::$variant => $name::$variant(
                        $crate::domain::settings::codec::lenient(value)
                    ),)+
                }
            }

            /// Reads settings of `kind` strictly (the blueprint reader): a value of the wrong
            /// type is an error naming the field.
            pub fn from_json_strict(
                kind: $kind,
                value: serde_json::Value,
            ) -> Result<Self, String> {
                Ok(match kind {
                    $($kind::$variant => $name::$variant(
                        serde_json::from_value(value).map_err(|e| e.to_string())?
                    ),)+
                })
            }

            /// Every field as the JSON object the store keeps.
            pub fn to_json(&self) -> serde_json::Value {
                match self {
                    $($name::$variant(s) => $crate::domain::settings::codec::to_json(s),)+
                }
            }

            /// Only the fields that differ from authentik's defaults (`{}` when none do), for
            /// compact display and editing.
            pub fn changed_json(&self) -> serde_json::Value {
                $crate::domain::settings::codec::changed(
                    &self.to_json(),
                    &Self::default_for(self.kind()).to_json(),
                )
            }
        }

        $(
            impl $crate::domain::settings::SettingsOf<$name> for $ty {
                fn of(settings: &$name) -> Option<&Self> {
                    #[allow(unreachable_patterns)]
                    match settings {
                        $name::$variant(s) => Some(s),
                        _ => None,
                    }
                }
                fn of_mut(settings: &mut $name) -> Option<&mut Self> {
                    #[allow(unreachable_patterns)]
                    match settings {
                        $name::$variant(s) => Some(s),
                        _ => None,
                    }
                }
            }
        )+
    };
}

mod connectors;
mod policies;
mod stage_refusals;
mod stages;

pub use connectors::*;
pub use policies::*;
pub use stage_refusals::refuse_unsupported;
pub use stages::*;

/// Picks one kind's struct out of its family's enum, so code that knows the kind it edits (the
/// console's typed form fields) reaches the fields without matching every variant.
pub trait SettingsOf<E>: Sized {
    /// The struct, when `settings` are of this kind.
    fn of(settings: &E) -> Option<&Self>;
    /// The struct to change, when `settings` are of this kind.
    fn of_mut(settings: &mut E) -> Option<&mut Self>;
}
