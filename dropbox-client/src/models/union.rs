//! `stone_union!`: Stone unions as Rust enums, with the exact JSON form of the Dropbox API.
//!
//! A union member is one of three shapes on the wire:
//! - `void`: `{".tag": "add"}` (the shorthand `"add"` is accepted on input);
//! - `nested`: the value under a key equal to the tag, `{".tag": "update", "update": "a1c1"}`
//!   (left out when the value is null: `{".tag": "malformed_path"}`);
//! - `inline`: a struct's fields next to the tag, `{".tag": "incorrect_offset", "correct_offset": 10}`
//!   (a nullable struct, `Option<T>`, is the bare tag when null: `{".tag": "update"}`).
//!
//! An `other` member catches tags this client does not know (open unions), so a newer server
//! never breaks decoding. It cannot be sent.

/// Declares a Stone union; see the module docs.
macro_rules! stone_union {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( void { $( $(#[$vm:meta])* $vv:ident = $vt:literal ),* $(,)? } )?
            $( nested { $( $(#[$nm:meta])* $nv:ident($nty:ty) = $nt:literal ),* $(,)? } )?
            $( inline { $( $(#[$im:meta])* $iv:ident($ity:ty) = $it:literal ),* $(,)? } )?
            $( other $ov:ident )?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        $vis enum $name {
            $($( $(#[$vm])* $vv, )*)?
            $($( $(#[$nm])* $nv($nty), )*)?
            $($( $(#[$im])* $iv($ity), )*)?
            $(
                /// A member this version of the client does not know (open union).
                $ov,
            )?
        }

        impl ::serde::Serialize for $name {
            #[allow(unused_mut, unused_variables)]
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                use ::serde::ser::Error as _;
                let mut map = ::serde_json::Map::new();
                match self {
                    $($( Self::$vv => { map.insert(".tag".into(), $vt.into()); } )*)?
                    $($( Self::$nv(v) => {
                        map.insert(".tag".into(), $nt.into());
                        let value = ::serde_json::to_value(v).map_err(S::Error::custom)?;
                        if !value.is_null() { map.insert($nt.into(), value); }
                    } )*)?
                    $($( Self::$iv(v) => {
                        let value = ::serde_json::to_value(v).map_err(S::Error::custom)?;
                        if let ::serde_json::Value::Object(fields) = value { map = fields; }
                        map.insert(".tag".into(), $it.into());
                    } )*)?
                    $( Self::$ov => return Err(S::Error::custom(concat!(stringify!($name), "::", stringify!($ov), " cannot be sent"))), )?
                }
                ::serde::Serialize::serialize(&map, serializer)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            #[allow(unused_mut, unused_variables)]
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                use ::serde::de::Error as _;
                let value = ::serde_json::Value::deserialize(deserializer)?;
                let (tag, mut fields) = match value {
                    ::serde_json::Value::String(tag) => (tag, ::serde_json::Map::new()),
                    ::serde_json::Value::Object(mut fields) => match fields.remove(".tag") {
                        Some(::serde_json::Value::String(tag)) => (tag, fields),
                        _ => return Err(D::Error::custom(concat!(stringify!($name), ": missing .tag"))),
                    },
                    _ => return Err(D::Error::custom(concat!(stringify!($name), ": expected an object or a tag"))),
                };
                match tag.as_str() {
                    $($( $vt => Ok(Self::$vv), )*)?
                    $($( $nt => {
                        let inner = fields.remove($nt).unwrap_or(::serde_json::Value::Null);
                        ::serde_json::from_value(inner).map(Self::$nv).map_err(D::Error::custom)
                    } )*)?
                    // A nullable struct member with null value is the bare tag: try null first.
                    $($( $it => {
                        if fields.is_empty() {
                            if let Ok(v) = ::serde_json::from_value(::serde_json::Value::Null) {
                                return Ok(Self::$iv(v));
                            }
                        }
                        ::serde_json::from_value(::serde_json::Value::Object(fields)).map(Self::$iv).map_err(D::Error::custom)
                    } )*)?
                    _ => stone_union!(@unknown $name, tag, D $(, $ov)?),
                }
            }
        }
    };
    (@unknown $name:ident, $tag:ident, $d:ident, $ov:ident) => { Ok(Self::$ov) };
    (@unknown $name:ident, $tag:ident, $d:ident) => {
        Err($d::Error::custom(format!(concat!(stringify!($name), ": unknown tag {:?}"), $tag)))
    };
}

pub(crate) use stone_union;

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};
    use serde_json::json;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Offset {
        correct_offset: u64,
    }

    stone_union! {
        /// Test union.
        enum Sample {
            void { NotFound = "not_found" }
            nested { Path(Box<Sample>) = "path", Malformed(Option<String>) = "malformed_path" }
            inline { IncorrectOffset(Offset) = "incorrect_offset" }
            other Other
        }
    }

    stone_union! {
        /// A union with a nullable struct member.
        enum Nullable {
            inline { Update(Option<Offset>) = "update" }
        }
    }

    #[test]
    fn wire_forms() {
        let nested = Sample::Path(Box::new(Sample::NotFound));
        assert_eq!(
            serde_json::to_value(&nested).unwrap(),
            json!({".tag": "path", "path": {".tag": "not_found"}})
        );
        let cleared = Nullable::Update(None);
        assert_eq!(
            serde_json::to_value(&cleared).unwrap(),
            json!({".tag": "update"})
        );
        let set = Nullable::Update(Some(Offset { correct_offset: 3 }));
        assert_eq!(
            serde_json::to_value(&set).unwrap(),
            json!({".tag": "update", "correct_offset": 3})
        );
        for v in [cleared, set] {
            let back: Nullable = serde_json::from_value(serde_json::to_value(&v).unwrap()).unwrap();
            assert_eq!(back, v);
        }
        let inline = Sample::IncorrectOffset(Offset { correct_offset: 10 });
        assert_eq!(
            serde_json::to_value(&inline).unwrap(),
            json!({".tag": "incorrect_offset", "correct_offset": 10})
        );
        assert_eq!(
            serde_json::to_value(Sample::Malformed(None)).unwrap(),
            json!({".tag": "malformed_path"})
        );
        for v in [nested, inline, Sample::Malformed(Some("x".into()))] {
            let back: Sample = serde_json::from_value(serde_json::to_value(&v).unwrap()).unwrap();
            assert_eq!(back, v);
        }
        let short: Sample = serde_json::from_value(json!("not_found")).unwrap();
        assert_eq!(short, Sample::NotFound);
        let unknown: Sample = serde_json::from_value(json!({".tag": "new_thing", "x": 1})).unwrap();
        assert_eq!(unknown, Sample::Other);
        assert!(serde_json::to_value(Sample::Other).is_err());
    }
}

/// The tag of a void-only Stone union that this client does not model member by member (a
/// team policy, a group's management type): `{".tag": "admin_only"}` reads as
/// `Tag("admin_only")`, and is written back the same way.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tag(pub String);

impl Tag {
    /// The tag.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl serde::Serialize for Tag {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(".tag", &self.0)?;
        map.end()
    }
}

impl<'de> serde::Deserialize<'de> for Tag {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::String(tag) => Ok(Tag(tag)),
            serde_json::Value::Object(map) => match map.get(".tag") {
                Some(serde_json::Value::String(tag)) => Ok(Tag(tag.clone())),
                _ => Err(D::Error::custom("a union without .tag")),
            },
            _ => Err(D::Error::custom("expected a union tag")),
        }
    }
}
