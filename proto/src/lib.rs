//! The gRPC contract of the chat suite, generated from `proto/chat/**`.
//!
//! One module per versioned package, plus [`FILE_DESCRIPTOR_SET`] for server
//! reflection.

pub mod auth {
    pub mod v1 {
        tonic::include_proto!("chat.auth.v1");
    }
}
pub mod profile {
    pub mod v1 {
        tonic::include_proto!("chat.profile.v1");
    }
}
pub mod room {
    pub mod v1 {
        tonic::include_proto!("chat.room.v1");
    }
}
pub mod events {
    pub mod v1 {
        tonic::include_proto!("chat.events.v1");
    }
}
pub mod messaging {
    pub mod v1 {
        tonic::include_proto!("chat.messaging.v1");
    }
}

/// Encoded `FileDescriptorSet` of every package, for tonic-reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptor.bin"));

/// Converts to and from `google.protobuf.Timestamp`.
pub fn timestamp_from_micros(micros: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: (micros.rem_euclid(1_000_000) * 1000) as i32,
    }
}
