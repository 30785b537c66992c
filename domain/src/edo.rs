//! A company's connection to electronic document exchange (ЭДО) with the lessor (docs/domain.md "Documents"):
//! NotConnected → QuestionnaireSubmitted → OfferAccepted → Connected through the lessor's operator, or
//! RoamingRequested → RoamingActive through the client's own operator, or Rejected with a reason (from which
//! the client may start again). One stream per company; its aggregate id is the company's id.

use cqrs_es::{event_sink::EventSink, Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::values::personal::Contact;
use crate::values::{EdoParticipantId, Email, Personal, Phone, EDO_OPERATORS};

/// Where a company's ЭДО connection is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EdoStatus {
    /// Nothing requested yet («Подключение отсутствует»).
    #[default]
    NotConnected,
    /// The client filed the questionnaire for the lessor's operator.
    QuestionnaireSubmitted,
    /// The client accepted the offer (the terms of exchange).
    OfferAccepted,
    /// Connected through the lessor's operator.
    Connected,
    /// The client asked for roaming through its own operator.
    RoamingRequested,
    /// Roaming works.
    RoamingActive,
    /// The lessor refused the connection (the reason is recorded).
    Rejected,
}

impl EdoStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotConnected => "not_connected",
            Self::QuestionnaireSubmitted => "questionnaire_submitted",
            Self::OfferAccepted => "offer_accepted",
            Self::Connected => "connected",
            Self::RoamingRequested => "roaming_requested",
            Self::RoamingActive => "roaming_active",
            Self::Rejected => "rejected",
        }
    }

    /// Whether documents can be exchanged.
    pub fn is_connected(self) -> bool {
        matches!(self, Self::Connected | Self::RoamingActive)
    }
}

/// Why an ЭДО command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EdoError {
    /// A field is invalid.
    #[error("{field}: {message}")]
    Invalid {
        /// The input field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The step does not follow from where the connection is.
    #[error("the ЭДО connection is {}; this step is not possible now", .0.as_str())]
    WrongStatus(EdoStatus),
    /// The client accepted an offer other than the current one.
    #[error("offerVersion: the current offer is version {current}")]
    OutdatedOffer {
        /// The current version.
        current: i32,
    },
}

impl crate::failure::Rejection for EdoError {}

/// An ЭДО operator roaming works with: its code (the first three characters of its participants' ids) and
/// its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdoOperator {
    /// 3 characters, upper case.
    pub code: String,
    /// Its name as clients know it.
    pub name: String,
}

impl EdoOperator {
    /// The list in force before staff publish one (`EDO_OPERATORS`).
    pub fn defaults() -> Vec<Self> {
        EDO_OPERATORS
            .iter()
            .map(|(code, name)| Self {
                code: (*code).to_owned(),
                name: (*name).to_owned(),
            })
            .collect()
    }
}

/// Checks a roaming request's operator code and participant id: the code is one of `operators` (the list
/// staff maintain) and the id (4–46 characters of `[A-Za-z0-9@.-]`) starts with it.
///
/// # Errors
/// [`EdoError::Invalid`] on `operatorCode` or `participantId`.
pub fn roaming_id(
    operators: &[EdoOperator],
    operator_code: &str,
    participant_id: &str,
) -> Result<EdoParticipantId, EdoError> {
    let code = operator_code.trim().to_ascii_uppercase();
    if !operators.iter().any(|o| o.code == code) {
        return Err(EdoError::Invalid {
            field: "operatorCode",
            message: format!(
                "unknown operator code «{}» (known: {})",
                operator_code.trim(),
                operators
                    .iter()
                    .map(|o| format!("{} {}", o.code, o.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    let id = EdoParticipantId::parse(participant_id).map_err(|e| EdoError::Invalid {
        field: "participantId",
        message: e.reason,
    })?;
    if !id.operator_code().eq_ignore_ascii_case(&code) {
        return Err(EdoError::Invalid {
            field: "participantId",
            message: format!("must start with the operator code {code}"),
        });
    }
    Ok(id)
}

/// The built-in text of the ЭДО offer (the `edo_offer_text` setting replaces it): what a client's accountant
/// agrees to when accepting it.
pub fn default_offer_text(lessor: &str) -> String {
    format!(
        "Оферта об электронном документообороте. {lessor} (лизингодатель) предлагает лизингополучателю \
         обмениваться первичными документами, счетами-фактурами, УПД, актами сверки и письмами в электронном \
         виде через оператора ЭДО по формату ФНС России. Документы подписываются усиленной квалифицированной \
         электронной подписью (ст. 6 Федерального закона от 06.04.2011 № 63-ФЗ) и равнозначны документам на \
         бумаге, подписанным собственноручно. Счёт-фактура в электронном виде выставляется по порядку, \
         утверждённому приказом Минфина России от 05.02.2021 № 14н. Стороны проверяют поступление документов \
         не реже одного раза в рабочий день и подписывают или мотивированно отклоняют их в сроки, \
         установленные договором лизинга. Принимая оферту, лизингополучатель подтверждает, что лица, \
         подписывающие документы от его имени, имеют на то полномочия (в том числе по машиночитаемой \
         доверенности). Отказ от ЭДО — письменным уведомлением за 30 дней."
    )
}

/// Validation of the operator list staff publish.
const MAX_OPERATORS: usize = 200;

/// The list of ЭДО operators roaming works with, as staff maintain it (one stream, id
/// [`EDO_OPERATORS_ID`]). Until a list is published, [`EdoOperator::defaults`] applies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EdoOperatorList {
    operators: Vec<EdoOperator>,
}

/// The aggregate id of the operator list.
pub const EDO_OPERATORS_ID: &str = "edo-operators";

/// A command to the operator list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EdoOperatorsCommand {
    /// Publish the whole list: (code, name) pairs.
    PublishEdoOperators {
        /// The operators.
        operators: Vec<(String, String)>,
    },
}

/// What happened to the operator list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EdoOperatorsEvent {
    /// The list in force from now on (it replaces the previous one).
    EdoOperatorsPublished {
        /// The operators, in the order shown.
        operators: Vec<EdoOperator>,
    },
}

impl DomainEvent for EdoOperatorsEvent {
    fn event_type(&self) -> String {
        "EdoOperatorsPublished".to_owned()
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}

/// The list as checked: codes of 3 Latin letters or digits (upper-cased), unique; names not blank.
///
/// # Errors
/// [`EdoError::Invalid`] on `operators`.
pub fn operator_list(operators: Vec<(String, String)>) -> Result<Vec<EdoOperator>, EdoError> {
    let invalid = |message: String| EdoError::Invalid {
        field: "operators",
        message,
    };
    if operators.is_empty() || operators.len() > MAX_OPERATORS {
        return Err(invalid(format!(
            "the list has 1 to {MAX_OPERATORS} operators"
        )));
    }
    let mut out: Vec<EdoOperator> = Vec::with_capacity(operators.len());
    for (code, name) in operators {
        let code = code.trim().to_ascii_uppercase();
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(invalid(format!(
                "«{code}» is not an operator code (3 Latin letters or digits)"
            )));
        }
        let name = name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(invalid(format!(
                "the name of operator {code} must be 1 to 200 characters"
            )));
        }
        if out.iter().any(|o| o.code == code) {
            return Err(invalid(format!("operator {code} is listed twice")));
        }
        out.push(EdoOperator { code, name });
    }
    Ok(out)
}

impl Aggregate for EdoOperatorList {
    const TYPE: &'static str = "EdoOperatorList";
    type Command = EdoOperatorsCommand;
    type Event = EdoOperatorsEvent;
    type Error = EdoError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let EdoOperatorsCommand::PublishEdoOperators { operators } = command;
        let operators = operator_list(operators)?;
        // The same list again changes nothing.
        if operators == self.operators {
            return Ok(());
        }
        sink.write(EdoOperatorsEvent::EdoOperatorsPublished { operators }, self)
            .await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        let EdoOperatorsEvent::EdoOperatorsPublished { operators } = event;
        self.operators = operators;
    }
}

/// A company's ЭДО connection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EdoConnection {
    status: EdoStatus,
    company_id: Option<Uuid>,
    participant_id: Option<EdoParticipantId>,
}

impl EdoConnection {
    /// Where it is.
    pub fn status(&self) -> EdoStatus {
        self.status
    }

    /// The company's participant id, once known.
    pub fn participant_id(&self) -> Option<&EdoParticipantId> {
        self.participant_id.as_ref()
    }
}

/// A command to a company's ЭДО connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EdoCommand {
    /// The client files the questionnaire for the lessor's operator.
    SubmitQuestionnaire {
        /// The company.
        company_id: Uuid,
        /// Who handles ЭДО at the company (personal data).
        contact_email: Email,
        /// Their phone (personal data).
        contact_phone: Option<Phone>,
    },
    /// The client accepts the offer it was shown.
    AcceptOffer {
        /// The version the client accepted.
        version: i32,
        /// The current version (configuration).
        current: i32,
    },
    /// The client asks for roaming through its own operator.
    RequestRoaming {
        /// The company.
        company_id: Uuid,
        /// Its id at its operator (checked with [`roaming_id`]).
        participant_id: EdoParticipantId,
    },
    /// Staff confirm: connected through the lessor's operator (with the id the operator assigned), or
    /// roaming active.
    Confirm {
        /// The id the lessor's operator assigned (required after an accepted offer).
        participant_id: Option<EdoParticipantId>,
    },
    /// Staff refuse the connection.
    Reject {
        /// Why.
        reason: String,
    },
}

/// What happened to a company's ЭДО connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EdoEvent {
    /// The questionnaire was filed.
    EdoQuestionnaireSubmitted {
        /// The company.
        company_id: Uuid,
        /// Contact e-mail (personal data).
        contact_email: Personal<Email, Contact>,
        /// Contact phone (personal data).
        contact_phone: Option<Personal<Phone, Contact>>,
    },
    /// The offer was accepted.
    EdoOfferAccepted {
        /// Its version.
        version: i32,
    },
    /// Connected through the lessor's operator.
    EdoConnected {
        /// The company's participant id.
        participant_id: EdoParticipantId,
    },
    /// Roaming through the client's operator was requested.
    EdoRoamingRequested {
        /// The company.
        company_id: Uuid,
        /// Its id at its operator.
        participant_id: EdoParticipantId,
    },
    /// Roaming works.
    EdoRoamingActivated,
    /// The connection was refused.
    EdoConnectionRejected {
        /// Why.
        reason: String,
    },
}

impl EdoEvent {
    /// The status after the event.
    pub fn status(&self) -> EdoStatus {
        match self {
            Self::EdoQuestionnaireSubmitted { .. } => EdoStatus::QuestionnaireSubmitted,
            Self::EdoOfferAccepted { .. } => EdoStatus::OfferAccepted,
            Self::EdoConnected { .. } => EdoStatus::Connected,
            Self::EdoRoamingRequested { .. } => EdoStatus::RoamingRequested,
            Self::EdoRoamingActivated => EdoStatus::RoamingActive,
            Self::EdoConnectionRejected { .. } => EdoStatus::Rejected,
        }
    }
}

impl DomainEvent for EdoEvent {
    fn event_type(&self) -> String {
        match self {
            Self::EdoQuestionnaireSubmitted { .. } => "EdoQuestionnaireSubmitted",
            Self::EdoOfferAccepted { .. } => "EdoOfferAccepted",
            Self::EdoConnected { .. } => "EdoConnected",
            Self::EdoRoamingRequested { .. } => "EdoRoamingRequested",
            Self::EdoRoamingActivated => "EdoRoamingActivated",
            Self::EdoConnectionRejected { .. } => "EdoConnectionRejected",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}

impl Aggregate for EdoConnection {
    const TYPE: &'static str = "EdoConnection";
    type Command = EdoCommand;
    type Event = EdoEvent;
    type Error = EdoError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        use EdoStatus as S;
        let startable = matches!(self.status, S::NotConnected | S::Rejected);
        let event = match command {
            EdoCommand::SubmitQuestionnaire {
                company_id,
                contact_email,
                contact_phone,
            } if startable => EdoEvent::EdoQuestionnaireSubmitted {
                company_id,
                contact_email: Personal::new(contact_email),
                contact_phone: contact_phone.map(Personal::new),
            },
            EdoCommand::RequestRoaming {
                company_id,
                participant_id,
            } if startable => EdoEvent::EdoRoamingRequested {
                company_id,
                participant_id,
            },
            EdoCommand::AcceptOffer { version, current }
                if self.status == S::QuestionnaireSubmitted =>
            {
                if version != current {
                    return Err(EdoError::OutdatedOffer { current });
                }
                EdoEvent::EdoOfferAccepted { version }
            }
            EdoCommand::Confirm { participant_id } if self.status == S::OfferAccepted => {
                let participant_id = participant_id.ok_or_else(|| EdoError::Invalid {
                    field: "participantId",
                    message: "the id the operator assigned is required".into(),
                })?;
                EdoEvent::EdoConnected { participant_id }
            }
            EdoCommand::Confirm { .. } if self.status == S::RoamingRequested => {
                EdoEvent::EdoRoamingActivated
            }
            EdoCommand::Reject { reason }
                if matches!(
                    self.status,
                    S::QuestionnaireSubmitted | S::OfferAccepted | S::RoamingRequested
                ) =>
            {
                let reason = reason.trim();
                if reason.is_empty() || reason.chars().count() > 2000 {
                    return Err(EdoError::Invalid {
                        field: "reason",
                        message: "must be 1 to 2000 characters".into(),
                    });
                }
                EdoEvent::EdoConnectionRejected {
                    reason: reason.to_owned(),
                }
            }
            _ => return Err(EdoError::WrongStatus(self.status)),
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        self.status = event.status();
        match event {
            EdoEvent::EdoQuestionnaireSubmitted { company_id, .. } => {
                self.company_id = Some(company_id);
                self.participant_id = None;
            }
            EdoEvent::EdoRoamingRequested {
                company_id,
                participant_id,
            } => {
                self.company_id = Some(company_id);
                self.participant_id = Some(participant_id);
            }
            EdoEvent::EdoConnected { participant_id } => self.participant_id = Some(participant_id),
            EdoEvent::EdoOfferAccepted { .. }
            | EdoEvent::EdoRoamingActivated
            | EdoEvent::EdoConnectionRejected { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use cqrs_es::test::TestFramework;

    use super::*;

    fn company() -> Uuid {
        Uuid::from_u128(5)
    }

    fn submitted() -> EdoEvent {
        EdoEvent::EdoQuestionnaireSubmitted {
            company_id: company(),
            contact_email: Personal::new(Email::parse("edo@romashka.ru").unwrap()),
            contact_phone: None,
        }
    }

    fn submit() -> EdoCommand {
        EdoCommand::SubmitQuestionnaire {
            company_id: company(),
            contact_email: Email::parse("edo@romashka.ru").unwrap(),
            contact_phone: None,
        }
    }

    fn id(s: &str) -> EdoParticipantId {
        EdoParticipantId::parse(s).unwrap()
    }

    #[tokio::test]
    async fn the_questionnaire_then_the_offer_then_the_operators_id_connect_a_company() {
        TestFramework::<EdoConnection>::with(())
            .given_no_previous_events()
            .when_async(submit())
            .await
            .then_expect_events(vec![submitted()]);
        TestFramework::<EdoConnection>::with(())
            .given(vec![submitted()])
            .when_async(EdoCommand::AcceptOffer {
                version: 3,
                current: 3,
            })
            .await
            .then_expect_events(vec![EdoEvent::EdoOfferAccepted { version: 3 }]);
        TestFramework::<EdoConnection>::with(())
            .given(vec![submitted(), EdoEvent::EdoOfferAccepted { version: 3 }])
            .when_async(EdoCommand::Confirm {
                participant_id: Some(id("2BM-7707083893-770701001")),
            })
            .await
            .then_expect_events(vec![EdoEvent::EdoConnected {
                participant_id: id("2BM-7707083893-770701001"),
            }]);
    }

    #[tokio::test]
    async fn an_outdated_offer_or_a_confirmation_without_the_operators_id_is_refused() {
        TestFramework::<EdoConnection>::with(())
            .given(vec![submitted()])
            .when_async(EdoCommand::AcceptOffer {
                version: 2,
                current: 3,
            })
            .await
            .then_expect_error(EdoError::OutdatedOffer { current: 3 });
        TestFramework::<EdoConnection>::with(())
            .given(vec![submitted(), EdoEvent::EdoOfferAccepted { version: 3 }])
            .when_async(EdoCommand::Confirm {
                participant_id: None,
            })
            .await
            .then_expect_error(EdoError::Invalid {
                field: "participantId",
                message: "the id the operator assigned is required".into(),
            });
    }

    #[tokio::test]
    async fn roaming_is_requested_then_activated_and_steps_out_of_order_are_refused() {
        let roaming = EdoEvent::EdoRoamingRequested {
            company_id: company(),
            participant_id: id("2BE1234567890abc"),
        };
        TestFramework::<EdoConnection>::with(())
            .given_no_previous_events()
            .when_async(EdoCommand::RequestRoaming {
                company_id: company(),
                participant_id: id("2BE1234567890abc"),
            })
            .await
            .then_expect_events(vec![roaming.clone()]);
        TestFramework::<EdoConnection>::with(())
            .given(vec![roaming.clone()])
            .when_async(EdoCommand::Confirm {
                participant_id: None,
            })
            .await
            .then_expect_events(vec![EdoEvent::EdoRoamingActivated]);
        // No offer to accept while roaming; no second questionnaire while active.
        TestFramework::<EdoConnection>::with(())
            .given(vec![roaming.clone()])
            .when_async(EdoCommand::AcceptOffer {
                version: 1,
                current: 1,
            })
            .await
            .then_expect_error(EdoError::WrongStatus(EdoStatus::RoamingRequested));
        TestFramework::<EdoConnection>::with(())
            .given(vec![roaming, EdoEvent::EdoRoamingActivated])
            .when_async(submit())
            .await
            .then_expect_error(EdoError::WrongStatus(EdoStatus::RoamingActive));
        TestFramework::<EdoConnection>::with(())
            .given_no_previous_events()
            .when_async(EdoCommand::Confirm {
                participant_id: None,
            })
            .await
            .then_expect_error(EdoError::WrongStatus(EdoStatus::NotConnected));
    }

    #[tokio::test]
    async fn a_rejected_connection_records_its_reason_and_can_be_started_again() {
        let rejected = EdoEvent::EdoConnectionRejected {
            reason: "Неверные реквизиты".into(),
        };
        TestFramework::<EdoConnection>::with(())
            .given(vec![submitted()])
            .when_async(EdoCommand::Reject {
                reason: " Неверные реквизиты ".into(),
            })
            .await
            .then_expect_events(vec![rejected.clone()]);
        TestFramework::<EdoConnection>::with(())
            .given(vec![submitted()])
            .when_async(EdoCommand::Reject { reason: " ".into() })
            .await
            .then_expect_error(EdoError::Invalid {
                field: "reason",
                message: "must be 1 to 2000 characters".into(),
            });
        TestFramework::<EdoConnection>::with(())
            .given(vec![submitted(), rejected])
            .when_async(submit())
            .await
            .then_expect_events(vec![submitted()]);
    }

    #[tokio::test]
    async fn staff_publish_the_operator_list_checked_and_the_same_list_again_changes_nothing() {
        let published = EdoOperatorsEvent::EdoOperatorsPublished {
            operators: vec![
                EdoOperator {
                    code: "2BE".into(),
                    name: "Тензор (СБИС)".into(),
                },
                EdoOperator {
                    code: "2LT".into(),
                    name: "Линк-Сервис".into(),
                },
            ],
        };
        let publish = |list: &[(&str, &str)]| EdoOperatorsCommand::PublishEdoOperators {
            operators: list
                .iter()
                .map(|(c, n)| ((*c).to_owned(), (*n).to_owned()))
                .collect(),
        };
        cqrs_es::test::TestFramework::<EdoOperatorList>::with(())
            .given_no_previous_events()
            .when_async(publish(&[
                ("2be", " Тензор (СБИС) "),
                ("2LT", "Линк-Сервис"),
            ]))
            .await
            .then_expect_events(vec![published.clone()]);
        cqrs_es::test::TestFramework::<EdoOperatorList>::with(())
            .given(vec![published])
            .when_async(publish(&[("2BE", "Тензор (СБИС)"), ("2LT", "Линк-Сервис")]))
            .await
            .then_expect_events(vec![]);
        for bad in [
            vec![],
            vec![("2B", "x")],
            vec![("2BE", " ")],
            vec![("2BE", "a"), ("2be", "b")],
        ] {
            let e = cqrs_es::test::TestFramework::<EdoOperatorList>::with(())
                .given_no_previous_events()
                .when_async(publish(&bad))
                .await
                .inspect_result()
                .unwrap_err();
            assert!(
                matches!(
                    e,
                    EdoError::Invalid {
                        field: "operators",
                        ..
                    }
                ),
                "{bad:?}: {e:?}"
            );
        }
        // A roaming request is checked against the list in force.
        let list = operator_list(vec![("2LT".into(), "Линк-Сервис".into())]).unwrap();
        assert!(roaming_id(&list, "2LT", "2LT-12345").is_ok());
        assert!(roaming_id(&list, "2BE", "2BE12345").is_err());
    }

    #[test]
    fn roaming_ids_need_a_listed_operator_code_they_start_with_and_4_to_46_characters() {
        assert_eq!(
            roaming_id(&EdoOperator::defaults(), "2be", "2BE1234567890abc")
                .unwrap()
                .as_str(),
            "2BE1234567890abc"
        );
        assert!(matches!(
            roaming_id(&EdoOperator::defaults(), "2ZZ", "2ZZ12345").unwrap_err(),
            EdoError::Invalid {
                field: "operatorCode",
                ..
            }
        ));
        assert!(matches!(
            roaming_id(&EdoOperator::defaults(), "2BEX", "2BE12345").unwrap_err(),
            EdoError::Invalid {
                field: "operatorCode",
                ..
            }
        ));
        assert!(matches!(
            roaming_id(&EdoOperator::defaults(), "2BE", "2BE").unwrap_err(),
            EdoError::Invalid {
                field: "participantId",
                ..
            }
        ));
        assert!(matches!(
            roaming_id(
                &EdoOperator::defaults(),
                "2BE",
                &format!("2BE{}", "1".repeat(44))
            )
            .unwrap_err(),
            EdoError::Invalid {
                field: "participantId",
                ..
            }
        ));
        assert!(matches!(
            roaming_id(&EdoOperator::defaults(), "2BE", "2BE 1234").unwrap_err(),
            EdoError::Invalid {
                field: "participantId",
                ..
            }
        ));
        assert!(matches!(
            roaming_id(&EdoOperator::defaults(), "2BE", "2BM12345").unwrap_err(),
            EdoError::Invalid {
                field: "participantId",
                ..
            }
        ));
        assert!(roaming_id(
            &EdoOperator::defaults(),
            "2AK",
            &format!("2AK{}", "a".repeat(43))
        )
        .is_ok());
    }
}
