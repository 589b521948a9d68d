//! OpenTelemetry semantic-convention names lookout emits. Using these constants (not string
//! literals) keeps collectors, sinks and tests in agreement.

/// `host.name` resource attribute.
pub const HOST_NAME: &str = "host.name";
/// `host.id` resource attribute (from /etc/machine-id).
pub const HOST_ID: &str = "host.id";
/// `host.arch` resource attribute.
pub const HOST_ARCH: &str = "host.arch";
/// `os.type` resource attribute.
pub const OS_TYPE: &str = "os.type";
/// `os.description` resource attribute.
pub const OS_DESCRIPTION: &str = "os.description";
/// `service.name` resource attribute.
pub const SERVICE_NAME: &str = "service.name";
/// `container.id` resource attribute.
pub const CONTAINER_ID: &str = "container.id";

/// CPU time by cpu and state (Sum, cumulative, `s`).
pub const SYSTEM_CPU_TIME: &str = "system.cpu.time";
/// CPU utilization by cpu and state (Gauge, `1`).
pub const SYSTEM_CPU_UTILIZATION: &str = "system.cpu.utilization";
/// Number of logical CPUs (Sum, non-monotonic).
pub const SYSTEM_CPU_LOGICAL_COUNT: &str = "system.cpu.logical.count";
/// 1-minute load average (Gauge).
pub const SYSTEM_CPU_LOAD_AVERAGE_1M: &str = "system.cpu.load_average.1m";
/// 5-minute load average (Gauge).
pub const SYSTEM_CPU_LOAD_AVERAGE_5M: &str = "system.cpu.load_average.5m";
/// 15-minute load average (Gauge).
pub const SYSTEM_CPU_LOAD_AVERAGE_15M: &str = "system.cpu.load_average.15m";
/// Memory in use by state (Sum, non-monotonic, `By`).
pub const SYSTEM_MEMORY_USAGE: &str = "system.memory.usage";
/// Memory utilization by state (Gauge, `1`).
pub const SYSTEM_MEMORY_UTILIZATION: &str = "system.memory.utilization";
/// Total memory (Sum, non-monotonic, `By`).
pub const SYSTEM_MEMORY_LIMIT: &str = "system.memory.limit";
/// Memory available without swapping, as the kernel estimates it (Sum, non-monotonic, `By`).
pub const SYSTEM_LINUX_MEMORY_AVAILABLE: &str = "system.linux.memory.available";
/// Swap usage by state (Sum, non-monotonic, `By`).
pub const SYSTEM_PAGING_USAGE: &str = "system.paging.usage";
/// Swap utilization by state (Gauge).
pub const SYSTEM_PAGING_UTILIZATION: &str = "system.paging.utilization";
/// Page faults by type (Sum, cumulative).
pub const SYSTEM_PAGING_FAULTS: &str = "system.paging.faults";
/// Paging operations by direction and type (Sum, cumulative).
pub const SYSTEM_PAGING_OPERATIONS: &str = "system.paging.operations";
/// Disk bytes by device and direction (Sum, cumulative, `By`).
pub const SYSTEM_DISK_IO: &str = "system.disk.io";
/// Disk operations by device and direction (Sum, cumulative).
pub const SYSTEM_DISK_OPERATIONS: &str = "system.disk.operations";
/// Time the disk was busy (Sum, cumulative, `s`).
pub const SYSTEM_DISK_IO_TIME: &str = "system.disk.io_time";
/// Time spent in operations by direction (Sum, cumulative, `s`).
pub const SYSTEM_DISK_OPERATION_TIME: &str = "system.disk.operation_time";
/// Merged operations by direction (Sum, cumulative).
pub const SYSTEM_DISK_MERGED: &str = "system.disk.merged";
/// Filesystem bytes by state (Sum, non-monotonic, `By`).
pub const SYSTEM_FILESYSTEM_USAGE: &str = "system.filesystem.usage";
/// Filesystem utilization (Gauge).
pub const SYSTEM_FILESYSTEM_UTILIZATION: &str = "system.filesystem.utilization";
/// Filesystem inodes by state (Sum, non-monotonic).
pub const SYSTEM_FILESYSTEM_INODES_USAGE: &str = "system.filesystem.inodes.usage";
/// Network bytes by device and direction (Sum, cumulative, `By`).
pub const SYSTEM_NETWORK_IO: &str = "system.network.io";
/// Network packets by device and direction (Sum, cumulative).
pub const SYSTEM_NETWORK_PACKETS: &str = "system.network.packets";
/// Network errors by device and direction (Sum, cumulative).
pub const SYSTEM_NETWORK_ERRORS: &str = "system.network.errors";
/// Dropped packets by device and direction (Sum, cumulative).
pub const SYSTEM_NETWORK_DROPPED: &str = "system.network.dropped";
/// Connections by protocol and state (Sum, non-monotonic).
pub const SYSTEM_NETWORK_CONNECTIONS: &str = "system.network.connections";
/// Seconds since boot (Gauge, `s`).
pub const SYSTEM_UPTIME: &str = "system.uptime";
/// Processes by status (Sum, non-monotonic).
pub const SYSTEM_PROCESSES_COUNT: &str = "system.processes.count";
/// Processes created since boot (Sum, cumulative).
pub const SYSTEM_PROCESSES_CREATED: &str = "system.processes.created";

/// `process.pid` resource attribute.
pub const PROCESS_PID: &str = "process.pid";
/// `process.parent_pid` resource attribute.
pub const PROCESS_PARENT_PID: &str = "process.parent_pid";
/// `process.executable.name` resource attribute.
pub const PROCESS_EXECUTABLE_NAME: &str = "process.executable.name";
/// `process.executable.path` resource attribute.
pub const PROCESS_EXECUTABLE_PATH: &str = "process.executable.path";
/// `process.command_line` resource attribute.
pub const PROCESS_COMMAND_LINE: &str = "process.command_line";
/// `process.owner` resource attribute.
pub const PROCESS_OWNER: &str = "process.owner";
/// `process.creation.time` resource attribute (ISO 8601).
pub const PROCESS_CREATION_TIME: &str = "process.creation.time";

/// CPU time by state (Sum, cumulative, `s`).
pub const PROCESS_CPU_TIME: &str = "process.cpu.time";
/// CPU utilization as a fraction of the host's CPU capacity, by state (Gauge, `1`).
pub const PROCESS_CPU_UTILIZATION: &str = "process.cpu.utilization";
/// Resident memory (Sum, non-monotonic, `By`).
pub const PROCESS_MEMORY_USAGE: &str = "process.memory.usage";
/// Virtual memory (Sum, non-monotonic, `By`).
pub const PROCESS_MEMORY_VIRTUAL: &str = "process.memory.virtual";
/// Threads (Sum, non-monotonic).
pub const PROCESS_THREADS: &str = "process.threads";
/// Open file descriptors (Sum, non-monotonic).
pub const PROCESS_OPEN_FILE_DESCRIPTORS: &str = "process.open_file_descriptors";
/// Disk bytes by direction (Sum, cumulative, `By`).
pub const PROCESS_DISK_IO: &str = "process.disk.io";
/// Context switches by type (Sum, cumulative).
pub const PROCESS_CONTEXT_SWITCHES: &str = "process.context_switches";
/// Page faults by type (Sum, cumulative).
pub const PROCESS_PAGING_FAULTS: &str = "process.paging.faults";
