//! How the agent's event attributes, which dashboards and alerts query, correspond to what
//! lookout sends (OpenTelemetry metric names and attributes), with the conversion to apply in
//! a query.

use serde::Serialize;

/// One attribute of a New Relic sample and its lookout counterpart.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct AttributeMap {
    /// The event type (`ProcessSample`).
    pub event: &'static str,
    /// Its attribute (`cpuPercent`).
    pub attribute: &'static str,
    /// lookout's metric or attribute.
    pub lookout: &'static str,
    /// How to get the agent's value from lookout's.
    pub conversion: &'static str,
}

const fn m(
    event: &'static str,
    attribute: &'static str,
    lookout: &'static str,
    conversion: &'static str,
) -> AttributeMap {
    AttributeMap {
        event,
        attribute,
        lookout,
        conversion,
    }
}

/// The mapping, by event type.
pub const ATTRIBUTES: &[AttributeMap] = &[
    m("ProcessSample", "cpuPercent", "process.cpu.utilization (sum of states)", "x 100 x logical CPUs: the agent's value is per core (400 = four busy cores), lookout's a share of the host"),
    m("ProcessSample", "cpuUserPercent", "process.cpu.utilization{state=user}", "x 100 x logical CPUs"),
    m("ProcessSample", "cpuSystemPercent", "process.cpu.utilization{state=system}", "x 100 x logical CPUs"),
    m("ProcessSample", "memoryResidentSizeBytes", "process.memory.usage", "same (bytes)"),
    m("ProcessSample", "memoryVirtualSizeBytes", "process.memory.virtual", "same (bytes)"),
    m("ProcessSample", "threadCount", "process.threads", "same"),
    m("ProcessSample", "fileDescriptorCount", "process.open_file_descriptors", "same"),
    m("ProcessSample", "ioTotalReadBytes", "process.disk.io{direction=read}", "same (cumulative bytes)"),
    m("ProcessSample", "ioTotalWriteBytes", "process.disk.io{direction=write}", "same (cumulative bytes)"),
    m("ProcessSample", "ioReadBytesPerSecond", "process.disk.io{direction=read}", "rate() of the counter"),
    m("ProcessSample", "ioWriteBytesPerSecond", "process.disk.io{direction=write}", "rate() of the counter"),
    m("ProcessSample", "processId", "process.pid", "same"),
    m("ProcessSample", "parentProcessId", "process.parent_pid", "same"),
    m("ProcessSample", "processDisplayName", "process.executable.name", "same (the kernel's name)"),
    m("ProcessSample", "commandName", "process.executable.name", "same"),
    m("ProcessSample", "commandLine", "process.command_line", "same; only the executable with strip_command_line"),
    m("ProcessSample", "userName", "process.owner", "same"),
    m("ProcessSample", "containerId", "container.id", "same"),
    m("SystemSample", "cpuPercent", "system.cpu.utilization (all states but idle)", "x 100, summed over states and averaged over CPUs"),
    m("SystemSample", "cpuUserPercent", "system.cpu.utilization{state=user}", "x 100"),
    m("SystemSample", "cpuSystemPercent", "system.cpu.utilization{state=system}", "x 100"),
    m("SystemSample", "cpuIOWaitPercent", "system.cpu.utilization{state=wait}", "x 100"),
    m("SystemSample", "cpuIdlePercent", "system.cpu.utilization{state=idle}", "x 100"),
    m("SystemSample", "cpuStealPercent", "system.cpu.utilization{state=steal}", "x 100"),
    m("SystemSample", "loadAverageOneMinute", "system.cpu.load_average.1m", "same"),
    m("SystemSample", "loadAverageFiveMinute", "system.cpu.load_average.5m", "same"),
    m("SystemSample", "loadAverageFifteenMinute", "system.cpu.load_average.15m", "same"),
    m("SystemSample", "memoryTotalBytes", "system.memory.limit", "same (bytes)"),
    m("SystemSample", "memoryFreeBytes", "system.memory.usage{state=free}", "same (bytes)"),
    m("SystemSample", "memoryUsedBytes", "system.memory.usage{state=used}", "same: total - free - buffers - cached - reclaimable slab"),
    m("SystemSample", "memoryUsedPercent", "system.memory.utilization{state=used}", "x 100"),
    m("SystemSample", "memoryCachedBytes", "system.memory.usage{state=cached}", "same"),
    m("SystemSample", "memoryBuffers", "system.memory.usage{state=buffered}", "same"),
    m("SystemSample", "memorySlabBytes", "system.memory.usage{state=slab_reclaimable} + slab_unreclaimable", "sum"),
    m("SystemSample", "swapTotalBytes", "system.paging.usage (sum of states)", "sum"),
    m("SystemSample", "swapUsedBytes", "system.paging.usage{state=used}", "same"),
    m("SystemSample", "swapFreeBytes", "system.paging.usage{state=free}", "same"),
    m("SystemSample", "uptime", "system.uptime", "same (seconds)"),
    m("StorageSample", "mountPoint", "mountpoint (attribute of system.filesystem.*)", "same"),
    m("StorageSample", "device", "device (attribute)", "same"),
    m("StorageSample", "filesystemType", "type (attribute)", "same"),
    m("StorageSample", "isReadOnly", "mode (attribute: ro / rw)", "ro = true"),
    m("StorageSample", "diskUsedBytes", "system.filesystem.usage{state=used}", "same (bytes)"),
    m("StorageSample", "diskFreeBytes", "system.filesystem.usage{state=free}", "same"),
    m("StorageSample", "diskTotalBytes", "system.filesystem.usage (sum of states)", "sum"),
    m("StorageSample", "diskUsedPercent", "system.filesystem.utilization", "x 100"),
    m("StorageSample", "inodesUsed", "system.filesystem.inodes.usage{state=used}", "same"),
    m("StorageSample", "inodesFree", "system.filesystem.inodes.usage{state=free}", "same"),
    m("StorageSample", "readBytesPerSecond", "system.disk.io{direction=read}", "rate() of the counter"),
    m("StorageSample", "writeBytesPerSecond", "system.disk.io{direction=write}", "rate() of the counter"),
    m("StorageSample", "readIoPerSecond", "system.disk.operations{direction=read}", "rate() of the counter"),
    m("StorageSample", "writeIoPerSecond", "system.disk.operations{direction=write}", "rate() of the counter"),
    m("StorageSample", "totalUtilizationPercent", "system.disk.io_time", "rate() x 100"),
    m("NetworkSample", "interfaceName", "device (attribute of system.network.*)", "same"),
    m("NetworkSample", "receiveBytesPerSecond", "system.network.io{direction=receive}", "rate() of the counter"),
    m("NetworkSample", "transmitBytesPerSecond", "system.network.io{direction=transmit}", "rate() of the counter"),
    m("NetworkSample", "receivePacketsPerSecond", "system.network.packets{direction=receive}", "rate() of the counter"),
    m("NetworkSample", "transmitPacketsPerSecond", "system.network.packets{direction=transmit}", "rate() of the counter"),
    m("NetworkSample", "receiveErrorsPerSecond", "system.network.errors{direction=receive}", "rate() of the counter"),
    m("NetworkSample", "transmitErrorsPerSecond", "system.network.errors{direction=transmit}", "rate() of the counter"),
    m("NetworkSample", "receiveDroppedPerSecond", "system.network.dropped{direction=receive}", "rate() of the counter"),
    m("NetworkSample", "transmitDroppedPerSecond", "system.network.dropped{direction=transmit}", "rate() of the counter"),
    m("(every sample)", "hostname / fullHostname", "host.name (resource)", "same"),
    m("(every sample)", "entityName", "host.name (resource)", "New Relic names the OTLP host entity from it"),
    m("(every sample)", "custom attributes, label.*", "resource attributes", "same names"),
];

/// Converts lookout's `process.cpu.utilization` (a share of the host, 0 to 1) to the agent's
/// `cpuPercent` (per core, so up to 100 x CPUs).
pub fn cpu_percent_from_utilization(utilization: f64, cpus: u32) -> f64 {
    utilization * 100.0 * f64::from(cpus.max(1))
}
