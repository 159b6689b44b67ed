//! `text/event-stream` parsing: the events must not depend on how the bytes were chunked.
#![no_main]
use backendai::core::stream::SseParser;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&step, body)) = data.split_first() else { return };
    let mut whole = SseParser::default();
    let expected = whole.feed(body);
    let mut chunked = SseParser::default();
    let step = (step as usize % 17) + 1;
    let mut got = Vec::new();
    for chunk in body.chunks(step) {
        got.extend(chunked.feed(chunk));
    }
    assert_eq!(got, expected, "events depend on chunking (step {step})");
    // Every event has a name; data lines never carry a raw newline terminator.
    for ev in &expected {
        assert!(!ev.event.is_empty());
        assert!(!ev.event.contains('\n') && !ev.id.contains('\n'));
    }
});
