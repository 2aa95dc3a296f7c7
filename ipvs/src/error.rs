//! Decoding errors and kernel error numbers.

use core::fmt;

/// Why bytes could not be decoded. Decoding never panics: every malformed input ends here.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// Fewer bytes than a header or a length field promised.
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// A fixed-size value had the wrong size.
    InvalidLength {
        /// What was being read.
        what: &'static str,
        /// The size the kernel's layout has.
        expected: usize,
        /// The size found.
        found: usize,
    },
    /// A length field smaller than its own header.
    LengthTooSmall {
        /// What was being read.
        what: &'static str,
        /// The length found.
        length: usize,
    },
    /// A string attribute that is not UTF-8.
    InvalidUtf8 {
        /// What was being read.
        what: &'static str,
    },
    /// A value outside what the kernel defines (e.g. an unknown address family).
    InvalidValue {
        /// What was being read.
        what: &'static str,
        /// The value found.
        value: u64,
    },
    /// A typed value needs an attribute the message lacks.
    MissingAttribute {
        /// The attribute.
        what: &'static str,
    },
    /// Bytes left over where the layout has none.
    TrailingBytes {
        /// What was being read.
        what: &'static str,
        /// How many bytes were left.
        count: usize,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated {
                what,
                needed,
                available,
            } => {
                write!(
                    f,
                    "{what}: truncated, needs {needed} bytes but {available} are left"
                )
            }
            DecodeError::InvalidLength {
                what,
                expected,
                found,
            } => {
                write!(f, "{what}: expected {expected} bytes, found {found}")
            }
            DecodeError::LengthTooSmall { what, length } => {
                write!(f, "{what}: length {length} is smaller than its header")
            }
            DecodeError::InvalidUtf8 { what } => write!(f, "{what}: not UTF-8"),
            DecodeError::InvalidValue { what, value } => write!(f, "{what}: invalid value {value}"),
            DecodeError::MissingAttribute { what } => write!(f, "missing attribute {what}"),
            DecodeError::TrailingBytes { what, count } => {
                write!(f, "{what}: {count} trailing bytes")
            }
        }
    }
}

impl core::error::Error for DecodeError {}

/// A Linux error number, as the kernel returns it (positive; netlink carries it negated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Errno(pub i32);

impl Errno {
    /// Operation not permitted.
    pub const EPERM: Errno = Errno(1);
    /// No such file or directory (IPVS: no such destination).
    pub const ENOENT: Errno = Errno(2);
    /// No such process (IPVS: no such service).
    pub const ESRCH: Errno = Errno(3);
    /// Out of memory.
    pub const ENOMEM: Errno = Errno(12);
    /// Device or resource busy.
    pub const EBUSY: Errno = Errno(16);
    /// File exists (IPVS: service or destination already exists).
    pub const EEXIST: Errno = Errno(17);
    /// Invalid argument.
    pub const EINVAL: Errno = Errno(22);
    /// Operation not supported.
    pub const EOPNOTSUPP: Errno = Errno(95);

    /// The errno of a netlink error code (`-17` → `EEXIST`); `None` for 0 (an ACK).
    pub fn from_code(code: i32) -> Option<Errno> {
        if code == 0 {
            None
        } else {
            Some(Errno(code.checked_neg().unwrap_or(i32::MAX)))
        }
    }

    /// The symbolic name of common error numbers (`"EEXIST"`).
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            1 => "EPERM",
            2 => "ENOENT",
            3 => "ESRCH",
            4 => "EINTR",
            5 => "EIO",
            6 => "ENXIO",
            7 => "E2BIG",
            9 => "EBADF",
            11 => "EAGAIN",
            12 => "ENOMEM",
            13 => "EACCES",
            14 => "EFAULT",
            16 => "EBUSY",
            17 => "EEXIST",
            19 => "ENODEV",
            22 => "EINVAL",
            28 => "ENOSPC",
            34 => "ERANGE",
            38 => "ENOSYS",
            71 => "EPROTO",
            90 => "EMSGSIZE",
            93 => "EPROTONOSUPPORT",
            95 => "EOPNOTSUPP",
            97 => "EAFNOSUPPORT",
            105 => "ENOBUFS",
            110 => "ETIMEDOUT",
            _ => return None,
        })
    }

    /// What the error means for an IPVS command, in ipvsadm's words where it has some.
    pub fn ipvs_meaning(self) -> &'static str {
        match self.0 {
            1 => "permission denied (you must be root)",
            2 => "no such destination",
            3 => "no such service",
            12 => "memory allocation problem",
            17 => "service or destination already exists",
            22 => "invalid argument (e.g. unknown scheduler, bad weight)",
            95 => "operation not supported",
            _ => "unexpected error",
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name} ({})", self.0),
            None => write!(f, "errno {}", self.0),
        }
    }
}
