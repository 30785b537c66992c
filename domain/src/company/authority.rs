//! Who may act for a lessee company, and on what ground: the roles of its people and the powers of attorney
//! (машиночитаемые доверенности, МЧД) it registers. The one home of the signing-authority rule.
//!
//! A company's people hold one role each in it (one person may hold different roles in different
//! companies). A **director** (the sole executive body, or an ИП himself) acts for the company by law. Anybody
//! else commits the company — signs or refuses a document, asks for an early buyout, a partial repayment, a
//! change of requisites or of insurance — only under a power of attorney the company registered for that
//! person, that kind of act, valid on the business date. A **viewer** only reads, whatever a power says.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::power::PowerOfAttorney;
use crate::document::DocumentKind;
use crate::request::RequestKind;

/// A person's role in one company.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompanyRole {
    /// Acts for the company by law: signs, commits, manages the company's people and powers of attorney.
    Director,
    /// Works with payments, documents and requests; commits the company only under a power of attorney.
    Accountant,
    /// Reads only.
    Viewer,
}

impl CompanyRole {
    /// Every role, strongest first.
    pub const ALL: [CompanyRole; 3] = [Self::Director, Self::Accountant, Self::Viewer];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Director => "director",
            Self::Accountant => "accountant",
            Self::Viewer => "viewer",
        }
    }

    /// The role by its stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Something done in a company's name that needs authority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    /// Signing, refusing to sign, or asking to annul a document of this kind.
    Sign(DocumentKind),
    /// Submitting a request of this kind.
    Submit(RequestKind),
}

impl RequestKind {
    /// Whether a request of this kind commits the company (money, the contract, its requisites or its
    /// insurance), so that only someone with authority may submit it.
    pub fn commits_company(self) -> bool {
        matches!(
            self,
            Self::EarlyBuyout
                | Self::PartialRepayment
                | Self::RequisitesChange
                | Self::InsuranceProlongation
                | Self::InsuranceTermsChange
                | Self::VehicleInsurance
        )
    }
}

impl PowerOfAttorney {
    /// Whether it covers `act` by `account` on `date` (revocation is the caller's to know).
    pub fn covers(&self, account: Uuid, act: Act, date: NaiveDate) -> bool {
        self.representative == account
            && self.valid_from <= date
            && date <= self.valid_until
            && match act {
                Act::Sign(kind) => self.document_kinds.contains(&kind),
                Act::Submit(_) => self.requests,
            }
    }
}

/// On what ground somebody acted for the company.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authority {
    /// The act needs no authority (a request that commits nothing).
    NotNeeded,
    /// A director.
    Director,
    /// A representative under this power of attorney.
    PowerOfAttorney(Uuid),
}

impl Authority {
    /// The power of attorney it rests on, if any.
    pub fn power_of_attorney(self) -> Option<Uuid> {
        match self {
            Self::PowerOfAttorney(n) => Some(n),
            _ => None,
        }
    }
}

/// Why somebody may not act for the company.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorityError {
    /// Neither a director nor a representative under a power that covers the act on the date.
    #[error("only the company's director or a representative under a power of attorney for this may do it")]
    NoAuthority,
    /// The power of attorney named is not the company's, not this person's, revoked, or does not cover the
    /// act on the date.
    #[error("power of attorney {number} does not cover this: {reason}")]
    PowerDoesNotCover {
        /// The number named.
        number: Uuid,
        /// Why, in words.
        reason: &'static str,
    },
}

/// Decides on what ground `account`, holding `role` in the company, may do `act` on `date`, given the
/// company's powers of attorney in force (not revoked) and the power the person named, if any. A director
/// needs no power; when a director names one anyway it must cover the act (a signature never records a
/// power that does not). Anyone else needs a power that covers the act: the one named, or else the first
/// that does. A viewer never acts.
///
/// # Errors
/// [`AuthorityError`].
pub fn authority(
    role: CompanyRole,
    account: Uuid,
    act: Act,
    date: NaiveDate,
    powers: &[PowerOfAttorney],
    named: Option<Uuid>,
) -> Result<Authority, AuthorityError> {
    if let Act::Submit(kind) = act {
        if !kind.commits_company() {
            return Ok(Authority::NotNeeded);
        }
    }
    if role == CompanyRole::Viewer {
        return Err(AuthorityError::NoAuthority);
    }
    if let Some(number) = named {
        let refused = |reason| AuthorityError::PowerDoesNotCover { number, reason };
        let power = powers
            .iter()
            .find(|p| p.number == number)
            .ok_or(refused("the company has no such power in force"))?;
        if power.representative != account {
            return Err(refused("it is another person's"));
        }
        if date < power.valid_from || power.valid_until < date {
            return Err(refused("it is not valid on this date"));
        }
        if !power.covers(account, act, date) {
            return Err(refused("it does not extend to this"));
        }
        return Ok(Authority::PowerOfAttorney(number));
    }
    if role == CompanyRole::Director {
        return Ok(Authority::Director);
    }
    powers
        .iter()
        .find(|p| p.covers(account, act, date))
        .map(|p| Authority::PowerOfAttorney(p.number))
        .ok_or(AuthorityError::NoAuthority)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
    }

    const ME: Uuid = Uuid::from_u128(10);
    const OTHER: Uuid = Uuid::from_u128(11);

    fn power(number: u128, who: Uuid, kinds: &[DocumentKind], requests: bool) -> PowerOfAttorney {
        PowerOfAttorney {
            number: Uuid::from_u128(number),
            representative: who,
            document_kinds: kinds.to_vec(),
            requests,
            valid_from: day(2),
            valid_until: day(20),
        }
    }

    #[test]
    fn a_director_acts_without_a_power_and_a_viewer_never() {
        let sign = Act::Sign(DocumentKind::Upd);
        assert_eq!(
            authority(CompanyRole::Director, ME, sign, day(1), &[], None),
            Ok(Authority::Director)
        );
        let all = [power(1, ME, &[DocumentKind::Upd], true)];
        assert_eq!(
            authority(CompanyRole::Viewer, ME, sign, day(5), &all, None),
            Err(AuthorityError::NoAuthority)
        );
        assert_eq!(
            authority(
                CompanyRole::Viewer,
                ME,
                Act::Submit(RequestKind::EarlyBuyout),
                day(5),
                &all,
                None
            ),
            Err(AuthorityError::NoAuthority)
        );
    }

    #[test]
    fn an_accountant_signs_only_the_kinds_its_power_names_on_its_days() {
        let powers = [power(1, ME, &[DocumentKind::Upd, DocumentKind::Act], false)];
        let upd = Act::Sign(DocumentKind::Upd);
        let ok = Ok(Authority::PowerOfAttorney(Uuid::from_u128(1)));
        assert_eq!(
            authority(CompanyRole::Accountant, ME, upd, day(2), &powers, None),
            ok
        );
        assert_eq!(
            authority(CompanyRole::Accountant, ME, upd, day(20), &powers, None),
            ok
        );
        for date in [day(1), day(21)] {
            assert_eq!(
                authority(CompanyRole::Accountant, ME, upd, date, &powers, None),
                Err(AuthorityError::NoAuthority)
            );
        }
        assert_eq!(
            authority(
                CompanyRole::Accountant,
                ME,
                Act::Sign(DocumentKind::ReconciliationAct),
                day(5),
                &powers,
                None
            ),
            Err(AuthorityError::NoAuthority)
        );
        assert_eq!(
            authority(
                CompanyRole::Accountant,
                ME,
                Act::Submit(RequestKind::PartialRepayment),
                day(5),
                &powers,
                None
            ),
            Err(AuthorityError::NoAuthority),
            "a power for documents is not one for requests"
        );
        assert_eq!(
            authority(CompanyRole::Accountant, ME, upd, day(5), &[], None),
            Err(AuthorityError::NoAuthority)
        );
    }

    #[test]
    fn a_named_power_must_be_the_persons_and_cover_the_act_even_for_a_director() {
        let powers = [
            power(1, OTHER, &[DocumentKind::Upd], true),
            power(2, ME, &[DocumentKind::Act], true),
        ];
        let upd = Act::Sign(DocumentKind::Upd);
        let reason = |r| {
            Err(AuthorityError::PowerDoesNotCover {
                number: Uuid::from_u128(match r {
                    "it is another person's" => 1,
                    "the company has no such power in force" => 9,
                    _ => 2,
                }),
                reason: r,
            })
        };
        assert_eq!(
            authority(
                CompanyRole::Accountant,
                ME,
                upd,
                day(5),
                &powers,
                Some(Uuid::from_u128(1))
            ),
            reason("it is another person's")
        );
        assert_eq!(
            authority(
                CompanyRole::Director,
                ME,
                upd,
                day(5),
                &powers,
                Some(Uuid::from_u128(9))
            ),
            reason("the company has no such power in force")
        );
        assert_eq!(
            authority(
                CompanyRole::Director,
                ME,
                upd,
                day(5),
                &powers,
                Some(Uuid::from_u128(2))
            ),
            reason("it does not extend to this")
        );
        assert_eq!(
            authority(
                CompanyRole::Accountant,
                ME,
                upd,
                day(25),
                &powers,
                Some(Uuid::from_u128(2))
            ),
            reason("it is not valid on this date")
        );
        assert_eq!(
            authority(
                CompanyRole::Accountant,
                ME,
                Act::Submit(RequestKind::EarlyBuyout),
                day(5),
                &powers,
                Some(Uuid::from_u128(2))
            ),
            Ok(Authority::PowerOfAttorney(Uuid::from_u128(2)))
        );
    }

    #[test]
    fn requests_that_commit_nothing_need_no_authority() {
        for kind in RequestKind::ALL {
            let got = authority(
                CompanyRole::Accountant,
                ME,
                Act::Submit(kind),
                day(5),
                &[],
                None,
            );
            assert_eq!(got.is_ok(), !kind.commits_company(), "{kind:?}: {got:?}");
        }
        assert!(RequestKind::EarlyBuyout.commits_company());
        assert!(RequestKind::RequisitesChange.commits_company());
        assert!(!RequestKind::Certificate.commits_company());
    }
}
