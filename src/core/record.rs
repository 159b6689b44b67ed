//! Output records of a run: console text by stream, and media (decoded data URIs), as the
//! execute answers and the streaming protocol carry them (PROTOCOL.md §5.6).

use base64::Engine;
use serde_json::Value;

use super::error::{Error, Result};

/// Stream of a console record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
    Html,
    Log,
    Completion,
    /// Any other record kind the server may send, by name.
    Other(String),
}

impl Stream {
    pub fn from_kind(kind: &str) -> Stream {
        match kind {
            "stdout" => Stream::Stdout,
            "stderr" => Stream::Stderr,
            "html" => Stream::Html,
            "log" => Stream::Log,
            "completion" => Stream::Completion,
            other => Stream::Other(other.to_string()),
        }
    }
}

/// One output record, in server order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    Console { stream: Stream, text: String },
    /// `data` holds decoded bytes for data-URI images (`decoded` true), else the text as sent
    /// (SVG XML, drawing JSON).
    Media { mime: String, data: Vec<u8>, decoded: bool },
}

/// Decodes a media payload: a `data:<mime>;base64,...` URI becomes its bytes; any other text
/// (SVG, drawing JSON) passes through; a non-string payload is kept as JSON text.
pub fn decode_media(mime: &str, payload: &Value) -> Result<Record> {
    let text = match payload {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if let Some(rest) = text.strip_prefix("data:") {
        let (meta, data) = rest.split_once(',').ok_or_else(|| Error::bad_response("media record: a data URI without ','"))?;
        let bytes = if meta.ends_with(";base64") {
            let clean: String = data.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            base64::engine::general_purpose::STANDARD
                .decode(clean.as_bytes())
                .map_err(|e| Error::bad_response(format!("media record: invalid base64 in a data URI: {e}")))?
        } else {
            percent_encoding::percent_decode_str(data).collect()
        };
        return Ok(Record::Media { mime: mime.to_string(), data: bytes, decoded: true });
    }
    Ok(Record::Media { mime: mime.to_string(), data: text.into_bytes(), decoded: false })
}

/// Parses one console item `[kind, payload]`.
pub fn parse_record(item: &Value) -> Result<Record> {
    let arr = item.as_array().filter(|a| a.len() == 2).ok_or_else(|| Error::bad_response("console record is not a [kind, payload] pair"))?;
    let kind = arr[0].as_str().ok_or_else(|| Error::bad_response("console record kind is not a string"))?;
    if kind == "media" {
        let m = arr[1].as_array().filter(|a| a.len() >= 2).ok_or_else(|| Error::bad_response("media record payload is not [mime, data]"))?;
        let mime = m[0].as_str().ok_or_else(|| Error::bad_response("media record MIME type is not a string"))?;
        return decode_media(mime, &m[1]);
    }
    let text = match &arr[1] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Ok(Record::Console { stream: Stream::from_kind(kind), text })
}
