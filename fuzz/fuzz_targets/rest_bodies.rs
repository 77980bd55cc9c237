#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| chat_gateway::fuzzing::rest_bodies(data));
