//! The `newrelic-infra.yml` keys lookout does not carry over, each with the reason the report
//! gives. Keys the converter maps are handled in `infra.rs`; a key in neither place is not an
//! Infrastructure agent key at all (a typo, or a newer agent: `--allow-unknown`).

const ENDPOINTS: &str = "a New Relic ingest endpoint of the agent's own protocol; lookout sends OTLP to the region's OTLP endpoint";
const INVENTORY: &str = "inventory (package, service and config snapshots) is not sent by lookout; `lookout discover` lists services, sockets and packages locally";
const TUNING: &str = "the old agent's internal tuning; lookout's batching, queue and retries are set on its sink (`docs/delivery.md`)";
const WINDOWS: &str = "Windows only";
const CLOUD: &str = "lookout does not query cloud metadata services";
const CONTAINERS: &str = "lookout reads container ids from cgroups and has no Docker API client";
const PATHS: &str =
    "a path or mode of the old agent itself; lookout keeps its state in its data directory";
const SELF_LOG: &str = "lookout logs to standard error (the journal under systemd), which rotates and forwards its own logs";
const STATSD_INGEST: &str = "the old agent's ingest server for nri-statsd and other local senders; lookout has its own StatsD and OTLP receivers (`statsd`, `otlp` sources)";
const PLUGINS: &str = "lookout's integrations are built in, not external programs";
const FLUENT: &str = "lookout reads logs itself, without Fluent Bit";

/// Why a known key is not mapped, or `None` when it is not one of these.
pub(crate) fn not_mapped(key: &str) -> Option<&'static str> {
    let k = key;
    let reason = match k {
        "collector_url" | "metric_url" | "identity_url" | "command_channel_url"
        | "inventory_ingest_endpoint" | "metrics_ingest_endpoint" | "identity_ingest_endpoint"
        | "command_channel_endpoint" | "event_queue_depth" | "batch_queue_depth"
        | "inventory_queue_len" | "metrics_ingest_url" | "http_server_endpoint" => ENDPOINTS,
        "disable_all_plugins" | "ignored_inventory" | "selinux_enable_semodule"
        | "sysctl_fs_notify" | "supervisor_rpc_sock" | "facter_home_dir"
        | "kernel_modules_refresh_sec" | "users_refresh_sec" | "sshd_config_refresh_sec"
        | "cloud_security_group_refresh_sec" | "max_inventory_size" | "inventory_archive_enabled"
        | "enable_win_update_plugin" | "proxy_config_plugin" | "strip_inventory" => INVENTORY,
        "max_procs" | "startup_connection_timeout" | "startup_connection_retries"
        | "startup_connection_retry_time" | "max_metrics_batch_size_bytes"
        | "max_metrics_batch_samples" | "max_metrics_batch_delay"
        | "remove_entities_period" | "offline_time_to_reset" | "trunc_text_values"
        | "ntp_metrics" | "self_instrumentation" | "self_instrumentation_apm_host"
        | "self_instrumentation_telemetry_endpoint" | "features" | "register_enabled"
        | "register_batch_size" | "register_frequency_secs" | "register_max_retry_boff_secs"
        | "register_concurrency" | "connect_enabled" | "cpu_profile" | "mem_profile"
        | "memory_limit" | "agent_metadata" | "enable_metadata_cache" | "heartbeat_sample_rate"
        | "sampler_max_interval" | "debug" | "inventory_concurrency"
        | "entity_key_override" => TUNING,
        "legacy_storage_sampler" | "app_data_dir" => WINDOWS,
        "cloud_provider" | "disable_cloud_metadata" | "disable_cloud_instance_id"
        | "cloud_max_retry_count" | "cloud_retry_backoff_sec" | "cloud_metadata_expiry_sec"
        | "oci_tags_exclude" => CLOUD,
        "docker_api_version" | "docker_containerd_namespace" | "container_cache_metadata_limit"
        | "process_container_decoration" | "container_metadata_cache_limit" => CONTAINERS,
        "agent_dir" | "config_dir" | "pid_file" | "agent_temp_dir" | "safe_bin_dir"
        | "is_containerized" | "default_integrations_temp_dir" | "custom_plugin_installation_dir"
        | "passthrough_environment" | "entityname_integrations_v2_update"
        | "enable_elevated_process_priv" => PATHS,
        "log_file" | "log_to_stdout" | "smart_level_entry_limit" => SELF_LOG,
        "http_server_enabled" | "http_server_host" | "http_server_port" | "http_server_cert"
        | "http_server_key" | "http_server_ca" | "tcp_server_enabled" | "tcp_server_port" => {
            STATSD_INGEST
        }
        "fluent_bit_exe_path" | "fluent_bit_parsers_path" | "fluent_bit_nr_lib_path"
        | "fluent_bit_verbose" | "fluent_bit_ignore_system_proxy" => FLUENT,
        "detailed_nfs" | "metrics_nfs_sample_rate" => {
            "lookout has no NFS sampler; NFS mounts appear among the filesystems of `host_metrics`"
        }
        "ignore_reclaimable" => {
            "lookout reports memory by state (`system.memory.usage{state}`), reclaimable slab included separately"
        }
        "dns_hostname_resolution" => {
            "lookout takes the kernel's host name (or `resource.hostname`) without DNS lookups"
        }
        "disable_zero_mem_process_filter" => {
            "lookout reports processes whatever their memory; kernel threads are left out of the top-N by their zero memory only when they use no CPU"
        }
        "status_endpoints" | "health_endpoint" => {
            "the old agent's status server checks its own endpoints; `lookout status` and `/health` report lookout's sinks"
        }
        _ => {
            if k.ends_with("_interval_sec") || k.ends_with("_refresh_sec") {
                INVENTORY
            } else if k.starts_with("win_") || k.starts_with("windows_") {
                WINDOWS
            } else if k.starts_with("logging_") || k.starts_with("fluent_bit_") {
                FLUENT
            } else if k.starts_with("cloud_") {
                CLOUD
            } else if k.ends_with("_plugin_dir") || k == "plugin_config_files" {
                PLUGINS
            } else if k.ends_with("_queue_depth") || k.ends_with("_queue_len") {
                TUNING
            } else {
                return None;
            }
        }
    };
    Some(reason)
}
