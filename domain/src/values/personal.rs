//! Personal data in events and aggregate state (152-ФЗ; issue 21, ADR 0016).
//!
//! A field that holds a person's data is a [`Personal<T, R>`]: the value (or nothing once the person's key
//! was destroyed) and, in its type, the role `R` of the person within the aggregate — the company's contact,
//! its manager, a request's drivers. It serialises only inside the marker the event store seals:
//! `{"$pd": {"r": <role>, "v": <value>}}`, or `{"$pd": {"r": <role>, "x": true}}` once destroyed. The store
//! encrypts every marked value under the key of the subject (aggregate, role) before a row is written, and
//! opens it when reading, so domain code never sees crypto and never sees ciphertext: a sealed marker that
//! reaches this type is an error (a reader that forgot to open it).
//!
//! Deserialising also accepts the bare value: events recorded before personal data was sealed, read by the
//! one-time rewrite that seals them (ADR 0016).

use std::fmt;
use std::marker::PhantomData;

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{json, Value};

/// The marker of a personal value in a payload.
pub const MARK: &str = "$pd";

/// The role of a data subject within an aggregate: one key per (aggregate, role).
pub trait Role {
    /// Stable name stored beside the value (never personal itself).
    const NAME: &'static str;
}

macro_rules! roles {
    ($($(#[$doc:meta])* $ty:ident = $name:literal;)*) => {
        $( $(#[$doc])* #[derive(Debug, Clone, Copy, PartialEq, Eq)] pub struct $ty;
           impl Role for $ty { const NAME: &'static str = $name; } )*
        /// Every role's name, for the catalogue and its test.
        pub const ROLES: &[&str] = &[$($name),*];
    };
}

roles! {
    /// A person a client company named as its contact (company, contract, ЭДО, requests).
    Contact = "contact";
    /// The lessor's manager responsible for a company.
    Manager = "manager";
    /// The person who reported an insured event (phone, place, description).
    Reporter = "reporter";
    /// The drivers named in a travel-abroad request.
    Driver = "driver";
    /// The persons who signed a document electronically (name and position from the certificate).
    Signer = "signer";
    /// The payer of an incoming bank payment (an entrepreneur's name; the purpose the payer wrote).
    Payer = "payer";
}

/// A personal value: present, or destroyed (its subject's key is gone).
pub struct Personal<T, R> {
    value: Option<T>,
    role: PhantomData<fn() -> R>,
}

impl<T, R: Role> Personal<T, R> {
    /// A present value.
    pub fn new(value: T) -> Self {
        Self {
            value: Some(value),
            role: PhantomData,
        }
    }

    /// A value whose subject's data was destroyed.
    pub fn destroyed() -> Self {
        Self {
            value: None,
            role: PhantomData,
        }
    }

    /// The value; None once destroyed.
    pub fn get(&self) -> Option<&T> {
        self.value.as_ref()
    }

    /// The value; None once destroyed.
    pub fn into_inner(self) -> Option<T> {
        self.value
    }

    /// Whether the subject's data was destroyed.
    pub fn is_destroyed(&self) -> bool {
        self.value.is_none()
    }

    /// The same person's other value (a destroyed value stays destroyed).
    pub fn map<U>(&self, f: impl FnOnce(&T) -> U) -> Personal<U, R> {
        Personal {
            value: self.value.as_ref().map(f),
            role: PhantomData,
        }
    }
}

impl<T, R: Role> From<T> for Personal<T, R> {
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

impl<R: Role> From<&str> for Personal<String, R> {
    fn from(value: &str) -> Self {
        Self::new(value.to_owned())
    }
}

impl<T: Clone, R> Clone for Personal<T, R> {
    fn clone(&self) -> Self {
        Self {
            value: self.value.clone(),
            role: PhantomData,
        }
    }
}

impl<T: PartialEq, R> PartialEq for Personal<T, R> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<T: Eq, R> Eq for Personal<T, R> {}

impl<T, R: Role> fmt::Debug for Personal<T, R> {
    // Never the value: a personal field does not reach logs through Debug.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.value {
            Some(_) => write!(f, "Personal<{}>(…)", R::NAME),
            None => write!(f, "Personal<{}>(destroyed)", R::NAME),
        }
    }
}

impl<T: Serialize, R: Role> Serialize for Personal<T, R> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let inner = match &self.value {
            Some(v) => json!({ "r": R::NAME, "v": v }),
            None => json!({ "r": R::NAME, "x": true }),
        };
        json!({ MARK: inner }).serialize(s)
    }
}

impl<'de, T: DeserializeOwned, R: Role> Deserialize<'de> for Personal<T, R> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Value::deserialize(d)?;
        let inner = match raw.as_object() {
            Some(o) if o.len() == 1 && o.contains_key(MARK) => &o[MARK],
            // Recorded before sealing existed: the bare value.
            _ => return T::deserialize(raw).map(Self::new).map_err(D::Error::custom),
        };
        if inner.get("x").and_then(Value::as_bool) == Some(true) {
            return Ok(Self::destroyed());
        }
        match inner.get("v") {
            Some(v) => T::deserialize(v).map(Self::new).map_err(D::Error::custom),
            None => Err(D::Error::custom(
                "a sealed personal value was not opened before decoding",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::Email;

    type ContactEmail = Personal<Email, Contact>;

    #[test]
    fn serialises_only_inside_the_marker_and_reads_back() {
        let e = ContactEmail::new(Email::parse("buh@romashka.ru").unwrap());
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v, json!({"$pd": {"r": "contact", "v": "buh@romashka.ru"}}));
        assert_eq!(serde_json::from_value::<ContactEmail>(v).unwrap(), e);
        assert!(!format!("{e:?}").contains("romashka"));
    }

    #[test]
    fn destroyed_reads_as_destroyed_and_sealed_is_an_error() {
        let d: ContactEmail =
            serde_json::from_value(json!({"$pd": {"r": "contact", "x": true}})).unwrap();
        assert!(d.is_destroyed());
        assert_eq!(
            serde_json::to_value(&d).unwrap(),
            json!({"$pd": {"r": "contact", "x": true}})
        );
        let sealed = json!({"$pd": {"r": "contact", "s": "0", "n": "AA", "c": "BB"}});
        assert!(serde_json::from_value::<ContactEmail>(sealed).is_err());
    }

    #[test]
    fn a_bare_value_from_before_sealing_is_read() {
        let e: ContactEmail = serde_json::from_value(json!("buh@romashka.ru")).unwrap();
        assert_eq!(e.get().unwrap().as_str(), "buh@romashka.ru");
    }
}
