//! A notification's values, typed: what its text is made of, for a frontend that lays them out itself.
//! One object for every kind: a field is set when the notification's kind carries it (said per field), and
//! `null` (or empty) otherwise.

use async_graphql::{Enum, SimpleObject};
use rust_decimal::Decimal;
use serde_json::Value;

use super::contracts::PaymentAllocation;
use super::documents::{DocumentKind, EdoStatus};
use super::enums::{RequestKind, RequestStatus};
use super::insurance::PolicyKind;
use super::scalars::Date;
use crate::error::ApiError;

/// A signing step on a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum SigningStep {
    /// Sent for signature.
    SentForSignature,
    /// Received by the other side.
    Delivered,
    /// Signed by both sides.
    Signed,
    /// The signature was refused.
    SignatureRejected,
    /// Annulment was proposed.
    AnnulmentRequested,
    /// Annulled.
    Annulled,
}

/// The values a notification's text is made of.
#[derive(Debug, Clone, Default, SimpleObject)]
pub struct NotificationParams {
    /// The contract's number (contract, payment, penalty and fine kinds) or the policy's (policy kinds).
    pub number: Option<String>,
    /// The day it is about: the contract's date, the handover, the payment, the fine, the news item.
    pub date: Option<Date>,
    /// The contract's price (CONTRACT_CONCLUDED).
    pub price: Option<Decimal>,
    /// The amount: of a payment, a line, a penalty or a fine.
    pub amount: Option<Decimal>,
    /// The payment's bank reference (PAYMENT_RECEIVED).
    pub bank_reference: Option<String>,
    /// What the payment covered (PAYMENT_RECEIVED); empty for other kinds.
    pub allocations: Vec<PaymentAllocation>,
    /// The schedule line's number (payment and penalty kinds).
    pub line: Option<i32>,
    /// The line's due date (PAYMENT_DUE_SOON, PAYMENT_DUE_TODAY).
    pub due_date: Option<Date>,
    /// The last day to pay before the line is overdue (PAYMENT_OVERDUE).
    pub deadline: Option<Date>,
    /// Days overdue (PENALTY_ACCRUED, PAYMENT_OVERDUE) or left (PAYMENT_DUE_SOON).
    pub days: Option<i32>,
    /// The day penalties are counted through (PENALTY_ACCRUED).
    pub through: Option<Date>,
    /// The fine's resolution number (FINE_REGISTERED).
    pub resolution_number: Option<String>,
    /// The vehicle the fine is for (FINE_REGISTERED).
    pub vehicle: Option<String>,
    /// The request's kind (request kinds, and EDO_STATUS_CHANGED from an ЭДО request).
    pub request_kind: Option<RequestKind>,
    /// The request's status after the change (request kinds; `null` for a comment or a file).
    pub request_status: Option<RequestStatus>,
    /// The request's due date (REQUEST_SUBMITTED).
    pub due_on: Option<Date>,
    /// The question asked (REQUEST_QUESTION).
    pub question: Option<String>,
    /// The comment (REQUEST_COMMENT, REQUEST_CLIENT_REPLY).
    pub comment: Option<String>,
    /// The completion note (REQUEST_DECIDED).
    pub note: Option<String>,
    /// The reason: of a rejection, a withdrawal, a refused change.
    pub reason: Option<String>,
    /// The file's name (a file on a request).
    pub file_name: Option<String>,
    /// The file's SHA-256 (a file on a request, a document).
    pub sha256: Option<String>,
    /// The ЭДО connection's state (EDO_STATUS_CHANGED from the connection itself).
    pub edo_status: Option<EdoStatus>,
    /// The policy's kind (POLICY_EXPIRING, POLICY_EXPIRED).
    pub policy_kind: Option<PolicyKind>,
    /// The policy's last day (POLICY_EXPIRING, POLICY_EXPIRED).
    pub ends_on: Option<Date>,
    /// The document's kind (DOCUMENT_AVAILABLE, DOCUMENT_FROM_CLIENT for an upload).
    pub document_kind: Option<DocumentKind>,
    /// The document's title (document and signing kinds).
    pub title: Option<String>,
    /// The signing step taken (SIGNATURE_REQUESTED, DOCUMENT_FROM_CLIENT for a step).
    pub signing_step: Option<SigningStep>,
    /// The terms of use's version (TERMS_CHANGED).
    pub version: Option<i32>,
    /// The message (CONVERSATION_MESSAGE, CONVERSATION_MESSAGE_FROM_CLIENT).
    pub message_id: Option<uuid::Uuid>,
    /// How many files the message carries (conversation kinds).
    pub files: Option<i32>,
    /// The notification handed up (NOTIFICATION_ESCALATED; its other values are the original's).
    pub escalated_from: Option<uuid::Uuid>,
    /// The manager who left it unread (NOTIFICATION_ESCALATED).
    pub manager_id: Option<uuid::Uuid>,
    /// How long it waited, in minutes (NOTIFICATION_ESCALATED).
    pub waited_minutes: Option<i32>,
}

fn uuid(p: &Value, key: &str) -> Option<uuid::Uuid> {
    p.get(key)?.as_str()?.parse().ok()
}

fn text(p: &Value, key: &str) -> Option<String> {
    p.get(key)?.as_str().map(str::to_owned)
}

fn date(p: &Value, key: &str) -> Option<Date> {
    serde_json::from_value(p.get(key)?.clone()).ok()
}

fn decimal(p: &Value, key: &str) -> Option<Decimal> {
    serde_json::from_value(p.get(key)?.clone()).ok()
}

fn int(p: &Value, key: &str) -> Option<i32> {
    p.get(key)?.as_i64().and_then(|n| i32::try_from(n).ok())
}

impl NotificationParams {
    /// The typed values from the stored `params` of a notification whose link is `entity_type`.
    ///
    /// # Errors
    /// INTERNAL when a stored kind or status is not one this server knows.
    pub fn from_stored(p: &Value, entity_type: &str) -> Result<Self, ApiError> {
        let stored_kind = text(p, "kind");
        let status = text(p, "status").filter(|s| !s.is_empty());
        let mut out = NotificationParams {
            number: text(p, "number"),
            date: date(p, "date"),
            price: decimal(p, "price"),
            amount: decimal(p, "amount"),
            bank_reference: text(p, "bank_reference"),
            allocations: match p.get("allocations") {
                Some(a) => PaymentAllocation::list(a.clone(), "notifications.params.allocations")?,
                None => Vec::new(),
            },
            line: int(p, "line"),
            due_date: date(p, "due_date"),
            deadline: date(p, "deadline"),
            days: int(p, "days"),
            through: date(p, "through"),
            resolution_number: text(p, "resolution_number"),
            vehicle: text(p, "vehicle"),
            due_on: date(p, "due_on"),
            question: text(p, "question"),
            comment: text(p, "comment"),
            note: text(p, "note"),
            reason: text(p, "reason"),
            file_name: text(p, "name"),
            sha256: text(p, "sha256"),
            ends_on: date(p, "ends_on"),
            title: text(p, "title"),
            version: int(p, "version"),
            message_id: uuid(p, "message"),
            files: int(p, "files"),
            escalated_from: uuid(p, "of"),
            manager_id: uuid(p, "manager"),
            waited_minutes: int(p, "waitedMinutes"),
            ..Default::default()
        };
        match entity_type {
            "request" => {
                if let Some(k) = &stored_kind {
                    out.request_kind = Some(
                        domain::request::RequestKind::parse(k)
                            .map(Into::into)
                            .ok_or_else(|| super::enums::unknown_stored("notification kind", k))?,
                    );
                }
                if let Some(s) = &status {
                    out.request_status = Some(
                        domain::request::RequestStatus::parse(s)
                            .map(Into::into)
                            .ok_or_else(|| {
                                super::enums::unknown_stored("notification status", s)
                            })?,
                    );
                }
            }
            "edo" => out.edo_status = Some(EdoStatus::from_view(status.as_deref())?),
            "policy" => {
                out.policy_kind = stored_kind
                    .as_deref()
                    .map(PolicyKind::from_view)
                    .transpose()?;
            }
            "exchange_document" => {
                out.document_kind = stored_kind
                    .as_deref()
                    .map(DocumentKind::from_view)
                    .transpose()?;
                out.signing_step = text(p, "event")
                    .map(|e| match e.as_str() {
                        "DocumentSentForSignature" => Ok(SigningStep::SentForSignature),
                        "DocumentDelivered" => Ok(SigningStep::Delivered),
                        "DocumentSigned" => Ok(SigningStep::Signed),
                        "DocumentSignatureRejected" => Ok(SigningStep::SignatureRejected),
                        "DocumentAnnulmentRequested" => Ok(SigningStep::AnnulmentRequested),
                        "DocumentAnnulled" => Ok(SigningStep::Annulled),
                        other => Err(super::enums::unknown_stored("notification event", other)),
                    })
                    .transpose()?;
            }
            _ => {}
        }
        Ok(out)
    }
}
