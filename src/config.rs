//! Typed configs that document themselves: [`config!`](crate::config!)
//! declares a struct with serde, `Default` and one doc line per field in one
//! place, so `hebbench params` prints what the code reads, never a copy.

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// One parameter as `hebbench params` shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ParamDoc {
    /// The key suites use.
    pub name: &'static str,
    /// The Rust type, as written in the config struct.
    pub ty: String,
    /// The default as JSON; `None` for a required parameter.
    pub default: Option<Value>,
    /// The field's doc comment, joined into one line.
    pub doc: String,
}

/// A titled list of parameters (a kind's own, or one part's).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ParamGroup {
    /// What the parameters belong to, e.g. `competition soft_wta`.
    pub title: String,
    /// One line about it.
    pub about: String,
    /// Its parameters.
    pub params: Vec<ParamDoc>,
}

impl ParamGroup {
    /// The parameters of config `C`, under `title`.
    pub fn of<C: Config>(title: &str, about: &str) -> Self {
        ParamGroup {
            title: title.to_string(),
            about: about.to_string(),
            params: C::param_docs(),
        }
    }

    /// One group per registry entry, titled `what name`.
    pub fn parts<T: ?Sized>(what: &str, registry: &[Part<T>]) -> Vec<Self> {
        registry
            .iter()
            .map(|p| ParamGroup {
                title: format!("{what} `{}`", p.name),
                about: p.about.to_string(),
                params: (p.params)(),
            })
            .collect()
    }

    /// The group as text: one line per parameter, `name  type  = default`
    /// then its doc.
    pub fn render(&self) -> String {
        let mut out = format!("{}: {}\n", self.title, self.about);
        if self.params.is_empty() {
            out.push_str("  (no parameters)\n");
        }
        for d in &self.params {
            let default = match &d.default {
                None => "required".to_string(),
                Some(v) => format!("= {v}"),
            };
            out.push_str(&format!("  {:<22} {:<20} {}\n", d.name, d.ty, default));
            if !d.doc.is_empty() {
                out.push_str(&format!("      {}\n", d.doc));
            }
        }
        out
    }
}

/// A config declared with [`config!`](crate::config!).
pub trait Config: Default + serde::Serialize + serde::de::DeserializeOwned {
    /// Every parameter, in declaration order.
    fn param_docs() -> Vec<ParamDoc>;
    /// Checks values serde cannot (ranges, lengths).
    fn validate(&self) -> Result<()>;

    /// Keys a suite must give (all others have defaults).
    fn required() -> Vec<&'static str> {
        Self::param_docs()
            .iter()
            .filter(|d| d.default.is_none())
            .map(|d| d.name)
            .collect()
    }

    /// Every key this config accepts.
    fn keys() -> Vec<&'static str> {
        Self::param_docs().iter().map(|d| d.name).collect()
    }

    /// Reads the config from `params`, naming every missing required key
    /// at once, then validates it.
    fn from_params(params: &Map<String, Value>) -> Result<Self> {
        let missing: Vec<&str> = Self::required()
            .into_iter()
            .filter(|k| !params.contains_key(*k))
            .collect();
        if !missing.is_empty() {
            return Err(Error::Params(format!(
                "missing required parameter{} {}",
                if missing.len() > 1 { "s" } else { "" },
                missing
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let c: Self = serde_json::from_value(Value::Object(params.clone()))
            .map_err(|e| Error::Params(e.to_string()))?;
        c.validate()?;
        Ok(c)
    }
}

/// A plug-in part (a competition mode, a learning rule) chosen by name,
/// with the parameters it was given. Parameters are flat keys of the
/// experiment's map, so that a suite names only the ones that differ.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PartSpec {
    /// The registry name.
    pub name: String,
    /// The part's parameters (absent keys take the part's defaults).
    pub params: Map<String, Value>,
}

impl PartSpec {
    /// `name` at its default parameters.
    pub fn named(name: &str) -> Self {
        PartSpec {
            name: name.to_string(),
            params: Map::new(),
        }
    }

    /// Sets one parameter.
    pub fn with(mut self, key: &str, value: impl serde::Serialize) -> Self {
        let v = serde_json::to_value(value).unwrap_or(Value::Null);
        self.params.insert(key.to_string(), v);
        self
    }
}

impl From<&str> for PartSpec {
    fn from(name: &str) -> Self {
        PartSpec::named(name)
    }
}

/// A registry entry: a part's name, docs and type-erased constructor
/// (`T` is the part's trait object, e.g. `dyn Competition`).
pub struct Part<T: ?Sized> {
    /// The name suites use.
    pub name: &'static str,
    /// One line for `hebbench params`.
    pub about: &'static str,
    /// Its parameters.
    pub params: fn() -> Vec<ParamDoc>,
    /// Builds the part from its parameters for one block of a network
    /// (rules take the layer's unit count instead).
    pub build: fn(&Map<String, Value>, usize) -> Result<Box<T>>,
}

impl<T: ?Sized> Part<T> {
    /// The keys this part reads.
    pub fn keys(&self) -> Vec<&'static str> {
        (self.params)().iter().map(|d| d.name).collect()
    }

    /// Its parameters at their defaults.
    pub fn defaults(&self) -> Map<String, Value> {
        (self.params)()
            .into_iter()
            .filter_map(|d| Some((d.name.to_string(), d.default?)))
            .collect()
    }

    /// The entries of `params` that are this part's.
    pub fn select(&self, params: &Map<String, Value>) -> Map<String, Value> {
        let keys = self.keys();
        params
            .iter()
            .filter(|(k, _)| keys.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// The entry of `registry` named `name`, listing the valid names when
/// unknown.
pub fn lookup_part<'a, T: ?Sized>(
    registry: &'a [Part<T>],
    what: &'static str,
    name: &str,
) -> Result<&'a Part<T>> {
    registry
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| Error::UnknownName {
            what,
            name: name.to_string(),
            valid: registry
                .iter()
                .map(|p| p.name)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Entry `i` of a per-block list, the last one past its end, `default`
/// when empty.
pub fn per_block<T: Copy>(v: &[T], i: usize, default: T) -> T {
    v.get(i).or(v.last()).copied().unwrap_or(default)
}

/// Tidies `stringify!`'s spacing of a type (`Vec < f32 >` → `Vec<f32>`).
pub fn type_name(raw: &str) -> String {
    raw.replace(" <", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" ,", ",")
}

/// Joins a field's doc lines into one.
pub fn doc_line(lines: &[&str]) -> String {
    lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Declares a config struct: each field with its doc comment, type and
/// default: one token or a parenthesised expression (`= required` for a key
/// suites must give; its placeholder is the type's `Default`). Generates the struct (serde, `deny_unknown_fields`),
/// its `Default` and its [`Config`] impl, so that parameters, defaults and
/// docs are stated once.
/// Declares a config struct: each field with its doc comment, type and
/// default: one token or a parenthesised expression (`= required` for a key
/// suites must give; its placeholder is the type's `Default`). Generates the
/// struct (serde, `deny_unknown_fields`), its `Default` and its [`Config`]
/// impl, so that parameters, defaults and docs are stated once. An optional
/// leading `validate = path;` names a `fn(&Self) -> Result<()>` for checks
/// serde cannot make.
#[macro_export]
macro_rules! config {
    (@default required) => { Default::default() };
    (@default $default:tt) => { $default };
    (@doc_default $v:expr, required) => { None };
    (@doc_default $v:expr, $default:tt) => { serde_json::to_value(&$v).ok() };
    (
        validate = $check:path;
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $(
                $(#[doc = $doc:literal])*
                $fvis:vis $field:ident : $ty:ty = $default:tt
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
        #[serde(default, deny_unknown_fields)]
        $vis struct $name {
            $( $(#[doc = $doc])* $fvis $field: $ty, )*
        }
        impl Default for $name {
            fn default() -> Self {
                $name { $( $field: $crate::config!(@default $default), )* }
            }
        }
        impl $crate::config::Config for $name {
            fn param_docs() -> Vec<$crate::config::ParamDoc> {
                #[allow(unused_variables)]
                let d = <$name as Default>::default();
                vec![$(
                    $crate::config::ParamDoc {
                        name: stringify!($field),
                        ty: $crate::config::type_name(stringify!($ty)),
                        default: $crate::config!(@doc_default d.$field, $default),
                        doc: $crate::config::doc_line(&[$($doc),*]),
                    }
                ),*]
            }
            fn validate(&self) -> $crate::Result<()> {
                $check(self)
            }
        }
    };
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident { $($body:tt)* }
    ) => {
        $crate::config! {
            validate = $crate::config::no_check;
            $(#[$meta])*
            $vis struct $name { $($body)* }
        }
    };
}

/// The default check of [`config!`](crate::config!): none.
pub fn no_check<T>(_: &T) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::config! {
        /// A config for the tests.
        struct Demo {
            /// The name.
            /// Two lines.
            name: String = required,
            /// A kind.
            kind: String = ("plain".into()),
            /// A rate.
            rate: f64 = 0.5,
            /// Per-block values.
            values: Vec<f32> = (vec![1.0, 2.0]),
        }
    }

    #[test]
    fn defaults_docs_and_required_keys_come_from_one_declaration() {
        let d = Demo::default();
        assert_eq!((d.rate, d.values.clone()), (0.5, vec![1.0, 2.0]));
        assert_eq!(Demo::required(), vec!["name"]);
        let docs = Demo::param_docs();
        assert_eq!(docs[0].doc, "The name. Two lines.");
        assert_eq!(docs[0].default, None);
        assert_eq!(docs[3].ty, "Vec<f32>");
        assert_eq!(docs[3].default, Some(serde_json::json!([1.0, 2.0])));
        let err = Demo::from_params(&Map::new()).unwrap_err().to_string();
        assert!(err.contains("missing required parameter `name`"), "{err}");
        let mut m = Map::new();
        m.insert("name".into(), "x".into());
        m.insert("rte".into(), 1.into());
        let err = Demo::from_params(&m).unwrap_err().to_string();
        assert!(err.contains("unknown field `rte`"), "{err}");
    }
}
