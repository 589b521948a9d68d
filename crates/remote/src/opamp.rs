//! The OpAMP messages lookout exchanges over OpAMP's HTTP transport (the `opamp.proto`
//! definitions of the OpAMP specification, field numbers as published; only the fields lookout
//! reads or writes). An agent POSTs an `AgentToServer` (`application/x-protobuf`) and reads a
//! `ServerToAgent` in the answer.
//!
//! What OpAMP does not carry is sent as custom messages (`docs/remote-config.md`): the
//! configuration's signature beside a remote configuration ([`SIGNATURE_CAPABILITY`], in the
//! shape of New Relic's agent control: key id and algorithm with the signature) and the
//! discovered services ([`INVENTORY_CAPABILITY`]).

use std::collections::HashMap;

/// Custom capability: a `ServerToAgent.custom_message` whose `data` is the signature document
/// (JSON, `lookout.config.signature/v1`) of the remote configuration sent with it.
pub const SIGNATURE_CAPABILITY: &str = "io.lookout.config-signature";
/// Custom capability: an `AgentToServer.custom_message` whose `data` is the discovered
/// services (JSON list; never a secret).
pub const INVENTORY_CAPABILITY: &str = "io.lookout.inventory";

/// `AgentCapabilities` bits.
pub mod capabilities {
    /// Reports status.
    pub const REPORTS_STATUS: u64 = 1;
    /// Accepts remote configuration.
    pub const ACCEPTS_REMOTE_CONFIG: u64 = 2;
    /// Reports its effective configuration.
    pub const REPORTS_EFFECTIVE_CONFIG: u64 = 4;
    /// Reports health.
    pub const REPORTS_HEALTH: u64 = 0x800;
    /// Reports the status of remote configurations.
    pub const REPORTS_REMOTE_CONFIG: u64 = 0x1000;
    /// Sends heartbeats.
    pub const REPORTS_HEARTBEAT: u64 = 0x2000;
}

/// `RemoteConfigStatuses`.
pub mod remote_config_status {
    /// Not set.
    pub const UNSET: i32 = 0;
    /// Applied.
    pub const APPLIED: i32 = 1;
    /// Being applied.
    pub const APPLYING: i32 = 2;
    /// Refused or failed.
    pub const FAILED: i32 = 3;
}

/// `AgentToServer`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AgentToServer {
    /// 16 bytes identifying this agent instance.
    #[prost(bytes = "vec", tag = "1")]
    pub instance_uid: Vec<u8>,
    /// Increments with each message.
    #[prost(uint64, tag = "2")]
    pub sequence_num: u64,
    /// Who the agent is.
    #[prost(message, optional, tag = "3")]
    pub agent_description: Option<AgentDescription>,
    /// `AgentCapabilities` bits.
    #[prost(uint64, tag = "4")]
    pub capabilities: u64,
    /// Health, with one entry per component.
    #[prost(message, optional, tag = "5")]
    pub health: Option<ComponentHealth>,
    /// The configuration running.
    #[prost(message, optional, tag = "6")]
    pub effective_config: Option<EffectiveConfig>,
    /// What became of the last remote configuration.
    #[prost(message, optional, tag = "7")]
    pub remote_config_status: Option<RemoteConfigStatus>,
    /// Flags.
    #[prost(uint64, tag = "10")]
    pub flags: u64,
    /// The custom capabilities understood.
    #[prost(message, optional, tag = "12")]
    pub custom_capabilities: Option<CustomCapabilities>,
    /// A custom message.
    #[prost(message, optional, tag = "13")]
    pub custom_message: Option<CustomMessage>,
}

/// `ServerToAgent`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ServerToAgent {
    /// The agent's instance uid.
    #[prost(bytes = "vec", tag = "1")]
    pub instance_uid: Vec<u8>,
    /// An error instead of an answer.
    #[prost(message, optional, tag = "2")]
    pub error_response: Option<ServerErrorResponse>,
    /// A remote configuration.
    #[prost(message, optional, tag = "3")]
    pub remote_config: Option<AgentRemoteConfig>,
    /// Flags (1: report full state).
    #[prost(uint64, tag = "6")]
    pub flags: u64,
    /// The server's capabilities.
    #[prost(uint64, tag = "7")]
    pub capabilities: u64,
    /// Custom capabilities the server understands.
    #[prost(message, optional, tag = "10")]
    pub custom_capabilities: Option<CustomCapabilities>,
    /// A custom message.
    #[prost(message, optional, tag = "11")]
    pub custom_message: Option<CustomMessage>,
}

/// `ServerErrorResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ServerErrorResponse {
    /// 0 unknown, 1 bad request, 2 unavailable.
    #[prost(int32, tag = "1")]
    pub r#type: i32,
    /// Why.
    #[prost(string, tag = "2")]
    pub error_message: String,
}

/// `AgentDescription`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AgentDescription {
    /// Attributes identifying the agent (`service.name`, `service.instance.id`...).
    #[prost(message, repeated, tag = "1")]
    pub identifying_attributes: Vec<KeyValue>,
    /// Other attributes (`host.name`, `os.type`...).
    #[prost(message, repeated, tag = "2")]
    pub non_identifying_attributes: Vec<KeyValue>,
}

/// `KeyValue`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct KeyValue {
    /// The key.
    #[prost(string, tag = "1")]
    pub key: String,
    /// The value.
    #[prost(message, optional, tag = "2")]
    pub value: Option<AnyValue>,
}

/// `AnyValue` (the kinds lookout sends).
#[derive(Clone, PartialEq, prost::Message)]
pub struct AnyValue {
    /// The value.
    #[prost(oneof = "any_value::Value", tags = "1, 2, 3")]
    pub value: Option<any_value::Value>,
}

/// `AnyValue`'s kinds.
pub mod any_value {
    /// One value.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Value {
        /// A string.
        #[prost(string, tag = "1")]
        StringValue(String),
        /// A boolean.
        #[prost(bool, tag = "2")]
        BoolValue(bool),
        /// An integer.
        #[prost(int64, tag = "3")]
        IntValue(i64),
    }
}

impl KeyValue {
    /// A string attribute.
    pub fn string(key: &str, value: impl Into<String>) -> KeyValue {
        KeyValue {
            key: key.to_string(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(value.into())),
            }),
        }
    }
}

/// `ComponentHealth`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ComponentHealth {
    /// Healthy.
    #[prost(bool, tag = "1")]
    pub healthy: bool,
    /// Start time.
    #[prost(fixed64, tag = "2")]
    pub start_time_unix_nano: u64,
    /// The last error.
    #[prost(string, tag = "3")]
    pub last_error: String,
    /// A status text.
    #[prost(string, tag = "4")]
    pub status: String,
    /// When the status was observed.
    #[prost(fixed64, tag = "5")]
    pub status_time_unix_nano: u64,
    /// The components.
    #[prost(map = "string, message", tag = "6")]
    pub component_health_map: HashMap<String, ComponentHealth>,
}

/// `EffectiveConfig`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EffectiveConfig {
    /// The files.
    #[prost(message, optional, tag = "1")]
    pub config_map: Option<AgentConfigMap>,
}

/// `AgentConfigMap`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AgentConfigMap {
    /// Files by name (`""`: the agent's single configuration).
    #[prost(map = "string, message", tag = "1")]
    pub config_map: HashMap<String, AgentConfigFile>,
}

/// `AgentConfigFile`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AgentConfigFile {
    /// Its bytes.
    #[prost(bytes = "vec", tag = "1")]
    pub body: Vec<u8>,
    /// Its media type.
    #[prost(string, tag = "2")]
    pub content_type: String,
}

/// `AgentRemoteConfig`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AgentRemoteConfig {
    /// The configuration files.
    #[prost(message, optional, tag = "1")]
    pub config: Option<AgentConfigMap>,
    /// Its hash, as the server computed it.
    #[prost(bytes = "vec", tag = "2")]
    pub config_hash: Vec<u8>,
}

/// `RemoteConfigStatus`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RemoteConfigStatus {
    /// The hash of the last remote configuration received.
    #[prost(bytes = "vec", tag = "1")]
    pub last_remote_config_hash: Vec<u8>,
    /// [`remote_config_status`].
    #[prost(int32, tag = "2")]
    pub status: i32,
    /// Why it failed.
    #[prost(string, tag = "3")]
    pub error_message: String,
}

/// `CustomCapabilities`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CustomCapabilities {
    /// Reverse-DNS names.
    #[prost(string, repeated, tag = "1")]
    pub capabilities: Vec<String>,
}

/// `CustomMessage`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CustomMessage {
    /// Its capability.
    #[prost(string, tag = "1")]
    pub capability: String,
    /// Its type within the capability.
    #[prost(string, tag = "2")]
    pub r#type: String,
    /// Its payload.
    #[prost(bytes = "vec", tag = "3")]
    pub data: Vec<u8>,
}

impl AgentRemoteConfig {
    /// The configuration text: the file named `""`, else the only file, else the first by name.
    pub fn body(&self) -> Option<&[u8]> {
        let m = &self.config.as_ref()?.config_map;
        if let Some(f) = m.get("") {
            return Some(&f.body);
        }
        let mut names: Vec<&String> = m.keys().collect();
        names.sort();
        names
            .first()
            .and_then(|n| m.get(*n))
            .map(|f| f.body.as_slice())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn messages_round_trip_and_unknown_fields_are_skipped() {
        let mut files = HashMap::new();
        files.insert(
            String::new(),
            AgentConfigFile {
                body: b"sources: {}\n".to_vec(),
                content_type: "text/yaml".into(),
            },
        );
        let s = ServerToAgent {
            instance_uid: vec![7; 16],
            remote_config: Some(AgentRemoteConfig {
                config: Some(AgentConfigMap { config_map: files }),
                config_hash: vec![1, 2, 3],
            }),
            custom_message: Some(CustomMessage {
                capability: SIGNATURE_CAPABILITY.into(),
                r#type: "signature".into(),
                data: b"{}".to_vec(),
            }),
            ..Default::default()
        };
        let bytes = s.encode_to_vec();
        let back = ServerToAgent::decode(bytes.as_slice()).unwrap();
        assert_eq!(back, s);
        assert_eq!(
            back.remote_config.unwrap().body(),
            Some(&b"sources: {}\n"[..])
        );
        // a field lookout does not know (packages_available, 5) is skipped
        let mut extra = bytes.clone();
        extra.extend_from_slice(&[0x2a, 0x00]);
        assert!(ServerToAgent::decode(extra.as_slice()).is_ok());
        // garbage is an error, not a panic
        assert!(ServerToAgent::decode(&[0xff, 0xff, 0xff][..]).is_err());
    }
}
