//! A loopback HTTPS GovAPI with a test CA: registration answers with `endpoint`'s id, everything else under
//! `/v1/endpoints/` answers `{}` unless a test routes it otherwise.

use serde_json::json;

use super::https::{Received, Reply, Server, TestCa};

pub const REGISTER: &str = "/v1/endpoints/register";

pub struct GovApi {
    pub ca: TestCa,
    pub server: Server,
    checkin: String,
}

impl GovApi {
    pub fn new(ca_name: &str, endpoint: &str) -> GovApi {
        let ca = TestCa::new(ca_name);
        let server = Server::https(&ca.leaf());
        server.route("POST", "/v1/endpoints/*", vec![Reply::json(json!({}))]);
        server.route(
            "POST",
            REGISTER,
            vec![Reply::json(json!({"endpoint_id": endpoint}))],
        );
        GovApi {
            ca,
            server,
            checkin: format!("/v1/endpoints/{endpoint}/checkin"),
        }
    }

    pub fn registers(&self) -> Vec<Received> {
        self.server.received_at("POST", REGISTER)
    }

    pub fn checkins(&self) -> Vec<Received> {
        self.server.received_at("POST", &self.checkin)
    }
}
