//! Upcasters: an event stored with an older `event_version` is rewritten to the current shape on every
//! read (aggregate load, projection replay, export), so code only ever sees the current version. Stored
//! rows are never rewritten.

use serde_json::Value;

/// One step: turns `event_type` of `aggregate_type` from version `from` into version `to`.
pub struct Upcaster {
    /// Aggregate type.
    pub aggregate_type: &'static str,
    /// Event type.
    pub event_type: &'static str,
    /// The version it reads.
    pub from: &'static str,
    /// The version it produces.
    pub to: &'static str,
    /// The rewrite of the whole externally tagged payload.
    pub apply: fn(Value) -> Value,
}

/// Every upcaster the system knows.
pub static UPCASTERS: &[Upcaster] = &[
    Upcaster {
        aggregate_type: "Company",
        event_type: "CompanyRegistered",
        from: "1",
        to: "2",
        apply: company_registered_v1_to_v2,
    },
    Upcaster {
        aggregate_type: "Contract",
        event_type: "ContractConcluded",
        from: "1",
        to: "2",
        apply: contract_concluded_v1_to_v2,
    },
    Upcaster {
        aggregate_type: "Contract",
        event_type: "TrafficFineRegistered",
        from: "1",
        to: "2",
        apply: traffic_fine_registered_v1_to_v2,
    },
];

/// TrafficFineRegistered v1 knew neither the offence's article, nor the discount, nor a fee: a v1 fine is
/// owed at its amount, which is what a fine without them is.
fn traffic_fine_registered_v1_to_v2(mut payload: Value) -> Value {
    if let Some(body) = payload
        .get_mut("TrafficFineRegistered")
        .and_then(Value::as_object_mut)
    {
        body.entry("article").or_insert(Value::Null);
        body.entry("discount").or_insert(Value::Null);
        body.entry("fee")
            .or_insert(Value::String("0.00".to_owned()));
    }
    payload
}

/// ContractConcluded v1 did not say what its redemption was; its schedule was computed with the redemption
/// as a residual value (FV, due with the last line), so that is what a v1 contract is. (A v1 contract
/// without a redemption reads the same either way.)
fn contract_concluded_v1_to_v2(mut payload: Value) -> Value {
    if let Some(body) = payload
        .get_mut("ContractConcluded")
        .and_then(Value::as_object_mut)
    {
        body.entry("redemption_kind")
            .or_insert(Value::String("residual".to_owned()));
    }
    payload
}

/// CompanyRegistered v1 had one `address`; v2 has `legal_address` and `postal_address`. A company
/// registered with one address uses it for both.
fn company_registered_v1_to_v2(mut payload: Value) -> Value {
    if let Some(body) = payload
        .get_mut("CompanyRegistered")
        .and_then(Value::as_object_mut)
    {
        let address = body.remove("address").unwrap_or(Value::Null);
        body.entry("legal_address").or_insert(address.clone());
        body.entry("postal_address").or_insert(address);
    }
    payload
}

/// Applies every matching step, in order, until no upcaster takes the version further.
pub fn upcast(
    aggregate_type: &str,
    event_type: &str,
    version: &str,
    payload: Value,
) -> (String, Value) {
    let mut version = version.to_owned();
    let mut payload = payload;
    while let Some(u) = UPCASTERS.iter().find(|u| {
        u.aggregate_type == aggregate_type && u.event_type == event_type && u.from == version
    }) {
        payload = (u.apply)(payload);
        version = u.to.to_owned();
    }
    (version, payload)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::upcast;

    #[test]
    fn a_v1_fine_reads_as_one_without_article_discount_or_fee() {
        let v1 = json!({"TrafficFineRegistered": {"resolution_number": "18810177260303000001", "amount": "500.00"}});
        let (v, p) = upcast("Contract", "TrafficFineRegistered", "1", v1);
        assert_eq!(v, "2");
        assert_eq!(
            p,
            json!({"TrafficFineRegistered": {"resolution_number": "18810177260303000001", "amount": "500.00",
                   "article": null, "discount": null, "fee": "0.00"}})
        );
    }

    #[test]
    fn company_registered_v1_gets_both_addresses() {
        let v1 = json!({"CompanyRegistered": {"inn": "7707083893", "address": "Москва"}});
        let (v, p) = upcast("Company", "CompanyRegistered", "1", v1);
        assert_eq!(v, "2");
        assert_eq!(
            p,
            json!({"CompanyRegistered": {"inn": "7707083893", "legal_address": "Москва", "postal_address": "Москва"}})
        );
    }

    #[test]
    fn a_v1_contract_is_read_as_what_it_was_computed_as_a_residual_redemption() {
        let v1 = json!({"ContractConcluded": {"number": "ЛД-1", "redemption": "1000.00"}});
        let (v, p) = upcast("Contract", "ContractConcluded", "1", v1);
        assert_eq!(v, "2");
        assert_eq!(
            p,
            json!({"ContractConcluded": {"number": "ЛД-1", "redemption": "1000.00", "redemption_kind": "residual"}})
        );
        let v2 = json!({"ContractConcluded": {"redemption_kind": "symbolic"}});
        assert_eq!(
            upcast("Contract", "ContractConcluded", "2", v2.clone()),
            ("2".to_owned(), v2)
        );
    }

    #[test]
    fn current_versions_and_other_types_pass_through() {
        let p = json!({"ManagerAssigned": {"name": "x"}});
        assert_eq!(
            upcast("Company", "ManagerAssigned", "1", p.clone()),
            ("1".into(), p.clone())
        );
        assert_eq!(
            upcast("Company", "CompanyRegistered", "2", p.clone()),
            ("2".into(), p)
        );
    }
}
