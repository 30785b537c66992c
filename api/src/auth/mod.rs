//! Accounts, sessions and the one authorization layer.
//!
//! # Layout
//! - `accounts.rs`: the account tables (outside the event log); `passwords.rs`: policy and argon2id;
//! - `sessions.rs`: opaque bearer tokens, stored hashed, with idle and absolute expiry and revocation;
//! - `control.rs`: single-use control strings (recovery, login change);
//! - `security.rs`: the security log, sign-in lockout, known clients; `ratelimit.rs`: per-address limits;
//! - `totp.rs`: two-factor sign-in (TOTP codes and recovery codes);
//! - `terms.rs`: terms-of-use versions and acceptances;
//! - `service.rs`: the account flows (sign-in, password change and recovery, login change, deletion, staff
//!   actions), each one transaction with its mails and log entries;
//! - `people.rs`: a company's people and their roles, invitations, role changes and removals;
//! - `policy.rs`: which role may do which operation, and on which company.

pub mod accounts;
pub mod control;
pub mod passwords;
pub mod people;
pub mod policy;
pub mod ratelimit;
pub mod security;
pub mod service;
pub mod sessions;
pub mod terms;
pub mod totp;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A role. CLIENT is a lessee's person; the others are the lessor's staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    /// A lessee's person: sees only the companies it is linked to.
    Client,
    /// Back office: registers companies, concludes contracts, processes requests.
    Manager,
    /// Back office: records payments, issues accounting documents.
    Accountant,
    /// Reads the event history; changes nothing.
    Auditor,
    /// Everything.
    Admin,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Client => "CLIENT",
            Self::Manager => "MANAGER",
            Self::Accountant => "ACCOUNTANT",
            Self::Auditor => "AUDITOR",
            Self::Admin => "ADMIN",
        }
    }

    /// Parses a stored or typed name (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_uppercase().as_str() {
            "CLIENT" => Self::Client,
            "MANAGER" => Self::Manager,
            "ACCOUNTANT" => Self::Accountant,
            "AUDITOR" => Self::Auditor,
            "ADMIN" => Self::Admin,
            _ => return None,
        })
    }

    /// Whether this is one of the lessor's staff roles.
    pub fn is_staff(self) -> bool {
        self != Self::Client
    }
}

/// A person's link to a company: the company and the person's role in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Membership {
    /// The company.
    pub company_id: Uuid,
    /// The role there.
    pub role: CompanyRole,
}

pub use domain::company::CompanyRole;

/// Who is making a request: resolved from the bearer token once per request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The account.
    pub account_id: Uuid,
    /// Its login.
    pub email: String,
    /// Its roles.
    pub roles: Vec<Role>,
    /// For CLIENT: the companies it is linked to, each with its role there, in company id order.
    pub memberships: Vec<Membership>,
    /// A temporary password must be changed before anything else.
    pub must_change_password: bool,
    /// For CLIENT: the terms-of-use version to accept before anything else, when the current one is not
    /// accepted yet.
    pub terms_required: Option<i32>,
    /// An ADMIN without two-factor sign-in (while it is required): it may only enrol.
    pub totp_enrolment_required: bool,
}

impl Actor {
    /// The companies a CLIENT is linked to, in id order.
    pub fn companies(&self) -> Vec<Uuid> {
        self.memberships.iter().map(|m| m.company_id).collect()
    }

    /// Whether the actor is one of `company`'s people.
    pub fn member_of(&self, company: Uuid) -> bool {
        self.role_in(company).is_some()
    }

    /// The actor's role in `company`, when it is one of its people.
    pub fn role_in(&self, company: Uuid) -> Option<CompanyRole> {
        self.memberships
            .iter()
            .find(|m| m.company_id == company)
            .map(|m| m.role)
    }

    /// Whether the actor has `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether the actor has any staff role.
    pub fn is_staff(&self) -> bool {
        self.roles.iter().any(|r| r.is_staff())
    }

    /// Which side the actor acts for in a request or a document's workflow. Staff roles decide: an account
    /// that holds one acts as the lessor even where it is also linked to a client company, as the
    /// authorization policy lets it act on any company (the one rule; GraphQL maps it, never decides it).
    pub fn party(&self) -> domain::request::Party {
        if self.is_staff() {
            domain::request::Party::Staff
        } else {
            domain::request::Party::Client
        }
    }

    /// The actor as recorded in event metadata.
    pub fn event_actor(&self) -> String {
        format!("account:{}", self.account_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(roles: &[Role]) -> Actor {
        Actor {
            account_id: Uuid::nil(),
            email: "a@example.com".into(),
            roles: roles.to_vec(),
            memberships: vec![Membership {
                company_id: Uuid::nil(),
                role: CompanyRole::Director,
            }],
            must_change_password: false,
            terms_required: None,
            totp_enrolment_required: false,
        }
    }

    #[test]
    fn an_account_with_a_staff_role_acts_as_staff_even_when_it_is_also_a_client() {
        use domain::request::Party;
        assert_eq!(actor(&[Role::Client]).party(), Party::Client);
        assert_eq!(actor(&[Role::Manager]).party(), Party::Staff);
        assert_eq!(
            actor(&[Role::Client, Role::Accountant]).party(),
            Party::Staff
        );
        assert_eq!(
            actor(&[Role::Accountant, Role::Client]).party(),
            Party::Staff
        );
    }
}
