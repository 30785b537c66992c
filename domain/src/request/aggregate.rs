//! State and workflow of a client request.

use chrono::NaiveDate;
use cqrs_es::{event_sink::EventSink, Aggregate};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    Completion, Party, RequestCommand, RequestDetails, RequestError, RequestEvent, RequestKind,
    RequestStatus, Submission,
};

/// Attachments one request may hold (both sides together).
pub const MAX_ATTACHMENTS: usize = 20;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct State {
    company_id: Uuid,
    contract_id: Option<Uuid>,
    submitted_by: Uuid,
    details: RequestDetails,
    status: RequestStatus,
    attachments: usize,
    effect_recorded: bool,
    completed_on: Option<NaiveDate>,
    prolongation: Option<super::ProlongationTerms>,
    #[serde(default)]
    terms_change: Option<super::TermsChangeTerms>,
    #[serde(default)]
    new_policy: Option<super::NewPolicyTerms>,
    #[serde(default)]
    result: Option<crate::values::FileRef>,
}

/// A client request. `Default` is "not yet submitted".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientRequest {
    state: Option<State>,
}

fn text(field: &'static str, v: &str, max: usize) -> Result<String, RequestError> {
    let t = v.trim();
    if t.is_empty() || t.chars().count() > max {
        return Err(RequestError::BadText { field, max });
    }
    Ok(t.to_owned())
}

impl ClientRequest {
    fn state(&self) -> Result<&State, RequestError> {
        self.state.as_ref().ok_or(RequestError::NotSubmitted)
    }

    /// The company, once submitted.
    pub fn company_id(&self) -> Option<Uuid> {
        self.state.as_ref().map(|s| s.company_id)
    }

    /// The contract, if the request names one.
    pub fn contract_id(&self) -> Option<Uuid> {
        self.state.as_ref().and_then(|s| s.contract_id)
    }

    /// The filing account.
    pub fn submitted_by(&self) -> Option<Uuid> {
        self.state.as_ref().map(|s| s.submitted_by)
    }

    /// The details, once submitted.
    pub fn details(&self) -> Option<&RequestDetails> {
        self.state.as_ref().map(|s| &s.details)
    }

    /// The status, once submitted.
    pub fn status(&self) -> Option<RequestStatus> {
        self.state.as_ref().map(|s| s.status)
    }

    /// The completion day, once completed.
    pub fn completed_on(&self) -> Option<NaiveDate> {
        self.state.as_ref().and_then(|s| s.completed_on)
    }

    /// What staff completed a change of insurance terms with.
    pub fn terms_change(&self) -> Option<&super::TermsChangeTerms> {
        self.state.as_ref().and_then(|s| s.terms_change.as_ref())
    }

    /// The policy staff arranged on a vehicle-insurance request, with the completion's result file (its form).
    pub fn new_policy(&self) -> Option<(&super::NewPolicyTerms, Option<&crate::values::FileRef>)> {
        self.state
            .as_ref()
            .and_then(|s| s.new_policy.as_ref().map(|p| (p, s.result.as_ref())))
    }

    /// The prolongation terms staff completed an insurance prolongation with.
    pub fn prolongation(&self) -> Option<&super::ProlongationTerms> {
        self.state.as_ref().and_then(|s| s.prolongation.as_ref())
    }

    /// Whether the completion's effect was recorded (applied or failed).
    pub fn effect_recorded(&self) -> bool {
        self.state.as_ref().is_some_and(|s| s.effect_recorded)
    }

    fn submit(&self, s: Submission) -> Result<RequestEvent, RequestError> {
        if self.state.is_some() {
            return Err(RequestError::AlreadySubmitted);
        }
        let details = s.details.validate(s.submitted_on)?;
        if details.kind().needs_contract() && s.contract_id.is_none() {
            return Err(RequestError::ContractRequired);
        }
        if s.due_on < s.submitted_on {
            return Err(RequestError::DueBeforeSubmission);
        }
        if s.attachments.len() > MAX_ATTACHMENTS {
            return Err(RequestError::TooManyAttachments(MAX_ATTACHMENTS));
        }
        Ok(RequestEvent::RequestSubmitted {
            request_id: s.request_id,
            company_id: s.company_id,
            contract_id: s.contract_id,
            submitted_by: s.submitted_by,
            submitted_on: s.submitted_on,
            due_on: s.due_on,
            details,
            attachments: s.attachments,
            power_of_attorney: s.power_of_attorney,
        })
    }

    fn open(&self) -> Result<&State, RequestError> {
        let s = self.state()?;
        if s.status.is_closed() {
            return Err(RequestError::WrongStatus(s.status));
        }
        Ok(s)
    }

    fn decide(&self, command: RequestCommand) -> Result<Vec<RequestEvent>, RequestError> {
        use RequestStatus as St;
        Ok(match command {
            RequestCommand::SubmitRequest(s) => vec![self.submit(*s)?],
            RequestCommand::TakeIntoReview => match self.state()?.status {
                St::Submitted | St::NeedsInformation => vec![RequestEvent::RequestTakenIntoReview],
                other => return Err(RequestError::WrongStatus(other)),
            },
            RequestCommand::AskForInformation { question } => match self.state()?.status {
                St::Submitted | St::InReview => vec![RequestEvent::InformationRequested {
                    question: text("question", &question, 5000)?,
                }],
                other => return Err(RequestError::WrongStatus(other)),
            },
            RequestCommand::Comment {
                comment_id,
                party,
                text: t,
            } => {
                let s = self.open()?;
                let mut events = vec![RequestEvent::CommentAdded {
                    comment_id,
                    party,
                    text: text("text", &t, 5000)?,
                }];
                if party == Party::Client && s.status == St::NeedsInformation {
                    events.push(RequestEvent::InformationProvided);
                }
                events
            }
            RequestCommand::Attach { party, file } => {
                let s = self.open()?;
                if s.attachments >= MAX_ATTACHMENTS {
                    return Err(RequestError::TooManyAttachments(MAX_ATTACHMENTS));
                }
                let mut events = vec![RequestEvent::AttachmentAdded { party, file }];
                if party == Party::Client && s.status == St::NeedsInformation {
                    events.push(RequestEvent::InformationProvided);
                }
                events
            }
            RequestCommand::Complete(c) => {
                let s = self.state()?;
                if s.status != St::InReview {
                    return Err(RequestError::WrongStatus(s.status));
                }
                let Completion {
                    completed_on,
                    note,
                    result,
                    prolongation,
                    terms_change,
                    new_policy,
                } = *c;
                let is_prolongation = s.details.kind() == RequestKind::InsuranceProlongation;
                let is_terms_change = s.details.kind() == RequestKind::InsuranceTermsChange;
                let is_vehicle_insurance = s.details.kind() == RequestKind::VehicleInsurance;
                if is_prolongation && prolongation.is_none() {
                    return Err(RequestError::ProlongationTermsRequired);
                }
                if is_vehicle_insurance && new_policy.is_none() {
                    return Err(RequestError::PolicyTermsRequired);
                }
                let note = match note.as_deref().map(str::trim) {
                    None | Some("") => None,
                    Some(n) => Some(text("note", n, 5000)?),
                };
                vec![RequestEvent::RequestCompleted {
                    completed_on,
                    note,
                    result,
                    prolongation: prolongation.filter(|_| is_prolongation),
                    terms_change: terms_change.filter(|_| is_terms_change),
                    new_policy: new_policy.filter(|_| is_vehicle_insurance),
                }]
            }
            RequestCommand::Reject { reason } => {
                self.open()?;
                vec![RequestEvent::RequestRejected {
                    reason: text("reason", &reason, 2000)?,
                }]
            }
            RequestCommand::Withdraw { reason } => {
                self.open()?;
                let reason = match reason.as_deref().map(str::trim) {
                    None | Some("") => None,
                    Some(r) => Some(text("reason", r, 2000)?),
                };
                vec![RequestEvent::RequestWithdrawn { reason }]
            }
            RequestCommand::RecordEffect { outcome, documents } => {
                let s = self.state()?;
                if s.status != St::Completed {
                    return Err(RequestError::WrongStatus(s.status));
                }
                if s.effect_recorded {
                    vec![]
                } else {
                    vec![match outcome {
                        Ok(detail) => RequestEvent::EffectApplied { detail, documents },
                        Err(reason) => RequestEvent::EffectFailed { reason },
                    }]
                }
            }
        })
    }
}

impl Aggregate for ClientRequest {
    // Never renamed: it links every stored event of a request.
    const TYPE: &'static str = "ClientRequest";
    type Command = RequestCommand;
    type Event = RequestEvent;
    type Error = RequestError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        if let RequestEvent::RequestSubmitted {
            company_id,
            contract_id,
            submitted_by,
            details,
            attachments,
            ..
        } = event
        {
            self.state = Some(State {
                company_id,
                contract_id,
                submitted_by,
                details,
                status: RequestStatus::Submitted,
                attachments: attachments.len(),
                effect_recorded: false,
                completed_on: None,
                prolongation: None,
                terms_change: None,
                new_policy: None,
                result: None,
            });
            return;
        }
        let Some(s) = self.state.as_mut() else {
            return;
        };
        match event {
            RequestEvent::RequestSubmitted { .. } | RequestEvent::CommentAdded { .. } => {}
            RequestEvent::RequestTakenIntoReview | RequestEvent::InformationProvided => {
                s.status = RequestStatus::InReview
            }
            RequestEvent::InformationRequested { .. } => s.status = RequestStatus::NeedsInformation,
            RequestEvent::AttachmentAdded { .. } => s.attachments += 1,
            RequestEvent::RequestCompleted {
                completed_on,
                prolongation,
                terms_change,
                new_policy,
                result,
                ..
            } => {
                s.status = RequestStatus::Completed;
                s.completed_on = Some(completed_on);
                s.prolongation = prolongation;
                s.terms_change = terms_change;
                s.new_policy = new_policy;
                s.result = result;
            }
            RequestEvent::RequestRejected { .. } => s.status = RequestStatus::Rejected,
            RequestEvent::RequestWithdrawn { .. } => s.status = RequestStatus::Withdrawn,
            RequestEvent::EffectApplied { .. } | RequestEvent::EffectFailed { .. } => {
                s.effect_recorded = true
            }
        }
    }
}

#[cfg(test)]
#[path = "aggregate_tests.rs"]
mod tests;
