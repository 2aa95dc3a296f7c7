//! svcroute-ipvs: the IPVS generic netlink messages, parsed and emitted without any I/O.
#![forbid(unsafe_code)]
