//! Service discovery: scanners (processes, listening sockets, packages, containers, config files)
//! and their correlation into service instances with a confidence and reasons.
#![deny(missing_docs)]

pub mod configs;
pub mod correlate;
pub mod kubernetes;
pub mod model;
pub mod render;
pub mod scan;

pub use correlate::{correlate, Kind, Service, THRESHOLD};
pub use model::{ContainerInfo, HostScan, Listener, Package, ProcessInfo, Proto};
