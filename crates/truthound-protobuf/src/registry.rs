//! The Confluent schema registry: [`RegistryBuilder`], and schemas fetched by id through
//! [`truthound_registry`] and compiled once per id.
//!
//! Confluent's serializers register a Protobuf schema as `.proto` text (the Java serializer)
//! or as a base64-encoded `FileDescriptorProto` (the Python one); the files it imports are
//! registered as other subjects and named in its `references` by their import paths. Both
//! forms are read, for the schema and for each reference; imports of the well-known types
//! (`google/protobuf/*.proto`) need no reference.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use prost_reflect::prost::Message as _;
use prost_reflect::prost_types::FileDescriptorProto;
use secrecy::SecretString;
use truthound_registry::{RegistryClient, Schema, SchemaCache, SchemaType};
use truthound_streaming_core::DeserializeFailure;

use crate::{Fixed, ProtobufDeserializer, ProtobufError, SCHEMA_FILE, Source};

pub use truthound_registry::{DEFAULT_RETRY_AFTER, DEFAULT_TIMEOUT, RegistryConfig};

/// What follows the wire-format header, for failure messages.
pub(crate) const BODY: &str = "message indexes, Protobuf message";

/// Builds a [`ProtobufDeserializer`] for payloads in the Confluent wire format, whose schemas
/// come from a schema registry. Start it with [`ProtobufDeserializer::with_registry`].
///
/// For Confluent Cloud, the registry is `https://` (the `tls` feature) with its own API key and
/// secret as basic auth. Neither the password nor the `Authorization` header ever shows in
/// `Debug` output, errors or failure reasons; a URL is shown without its user information.
///
/// ```
/// use std::time::Duration;
/// use truthound_protobuf::ProtobufDeserializer;
///
/// let deserializer = ProtobufDeserializer::with_registry("http://localhost:8081")
///     .with_basic_auth("svc-quality", "secret")
///     .with_timeout(Duration::from_secs(3))
///     .finish()?;
/// // No request is made until the first message, and the password never shows.
/// assert!(!format!("{deserializer:?}").contains("secret"));
/// # Ok::<(), truthound_protobuf::ProtobufError>(())
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until `finish` is called"]
pub struct RegistryBuilder {
    config: RegistryConfig,
}

impl RegistryBuilder {
    pub(crate) fn new(config: RegistryConfig) -> Self {
        Self { config }
    }

    /// Authenticates to the registry with HTTP basic auth (Confluent Cloud: the schema registry
    /// API key and secret).
    pub fn with_basic_auth(
        mut self,
        user: impl Into<String>,
        password: impl Into<SecretString>,
    ) -> Self {
        self.config = self.config.with_basic_auth(user, password);
        self
    }

    /// Trusts the certificate authorities in this PEM file, instead of the webpki roots, for the
    /// registry's TLS (an `https://` URL; with `http://`, [`finish`](Self::finish) refuses it
    /// rather than ignore it). The file is read by `finish`.
    pub fn with_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.config = self.config.with_ca_file(path);
        self
    }

    /// Bounds one schema lookup, from connecting to reading the whole response (default
    /// [`DEFAULT_TIMEOUT`]). The lookup runs on the thread decoding the message, so a source
    /// with a deadline should give no more than it.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.config = self.config.with_timeout(timeout);
        self
    }

    /// How long a failed lookup is remembered (default [`DEFAULT_RETRY_AFTER`]): until then,
    /// messages with that schema id fail at once with the same reason; the first one after it
    /// asks again.
    pub fn with_retry_after(mut self, retry_after: Duration) -> Self {
        self.config = self.config.with_retry_after(retry_after);
        self
    }

    /// Checks the URL, the credentials and the CA file, and builds the deserializer. No request
    /// is made until the first message.
    ///
    /// # Errors
    /// [`ProtobufError::Registry`] when the URL is not `http://host[:port][/path]` (or
    /// `https://` with the `tls` feature) or carries credentials (use
    /// [`with_basic_auth`](Self::with_basic_auth)), when the user name cannot be sent as basic
    /// auth, or when the CA file cannot be read, holds no PEM certificate, or is given for an
    /// `http://` URL.
    pub fn finish(self) -> Result<ProtobufDeserializer, ProtobufError> {
        let client = self.config.connect()?;
        let registry = Registry {
            schemas: client.cache(),
            client,
        };
        Ok(ProtobufDeserializer {
            source: Source::Registry(Arc::new(registry)),
        })
    }
}

/// A schema registry client with its cache of compiled schemas.
pub(crate) struct Registry {
    client: RegistryClient,
    schemas: SchemaCache<Fixed>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("client", &self.client)
            .field("schemas", &self.schemas)
            .finish()
    }
}

impl Registry {
    /// The compiled schema with this id, fetched on first use.
    pub(crate) fn schema(&self, id: u32) -> Result<Arc<Fixed>, DeserializeFailure> {
        self.schemas.get_or_load(id, || {
            let url = self.client.schema_url(id);
            let schema = self
                .client
                .schema_by_id(id, SchemaType::Protobuf)
                .map_err(|e| {
                    self.client.scrub(format!(
                        "could not get Protobuf schema id {id} from {url}: {e}"
                    ))
                })?;
            compiled(&schema).map_err(|reason| {
                self.client
                    .scrub(format!("Protobuf schema id {id} ({url}) {reason}"))
            })
        })
    }
}

/// A registry schema compiled with the schemas it references.
fn compiled(schema: &Schema) -> Result<Fixed, String> {
    let mut files = Vec::with_capacity(schema.references.len() + 1);
    for reference in &schema.references {
        let file = file(Some(&reference.name), &reference.schema).map_err(|reason| {
            format!(
                "references `{}` (subject `{}`, version {}), which {reason}",
                reference.name, reference.subject, reference.version
            )
        })?;
        files.push(file);
    }
    let main = file(None, &schema.schema)?;
    let name = main.name().to_owned();
    if schema.references.iter().any(|r| r.name == name) {
        return Err(format!("is named `{name}` like one of its references"));
    }
    files.push(main);
    let pool = crate::compile(&name, files).map_err(|e| format!("does not compile: {e}"))?;
    Fixed::from_pool(&pool, &name, None).map_err(|e| format!("cannot be used: {e}"))
}

/// A file from a registry's schema text: `.proto` source, or a base64 `FileDescriptorProto`.
/// It is named `name` (the import path it is referenced by), or else by its descriptor's own
/// name; `.proto` source without a name is [`SCHEMA_FILE`].
fn file(name: Option<&str>, text: &str) -> Result<protox::file::File, String> {
    // A `.proto` file always has a space or a `;`, which base64 never has.
    let trimmed = text.trim();
    if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(trimmed) {
        let mut descriptor = FileDescriptorProto::decode(bytes.as_slice()).map_err(|e| {
            format!("is base64 but not a FileDescriptorProto ({e}); expected .proto text or a base64 FileDescriptorProto")
        })?;
        match name {
            Some(name) => descriptor.name = Some(name.to_owned()),
            None if descriptor.name().is_empty() => {
                descriptor.name = Some(SCHEMA_FILE.to_owned());
            }
            None => {}
        }
        return Ok(protox::file::File::from_file_descriptor_proto(descriptor));
    }
    protox::file::File::from_source(name.unwrap_or(SCHEMA_FILE), text)
        .map_err(|e| format!("does not compile: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    use truthound_registry::Reference;

    fn schema(text: &str, references: Vec<Reference>) -> Schema {
        let mut schema = Schema::new(text);
        schema.references = references;
        schema
    }

    #[test]
    fn proto_text_and_descriptors_compile_with_their_references() {
        let address = "syntax = \"proto3\"; package shop; message Address { string city = 1; }";
        let order = "syntax = \"proto3\"; package shop; import \"shop/address.proto\"; \
                     import \"google/protobuf/timestamp.proto\"; \
                     message Order { Address to = 1; google.protobuf.Timestamp at = 2; }";
        let reference = |text: &str| Reference::new("shop/address.proto", "address", "1", text);
        let fixed = compiled(&schema(order, vec![reference(address)])).unwrap();
        assert_eq!(
            &*fixed.schema.messages[fixed.schema.root].full_name,
            "shop.Order"
        );

        // The same files as base64 descriptors, as Confluent's Python serializer registers them.
        let descriptor = |name: &str, text: &str| {
            let file = protox::file::File::from_source(name, text).unwrap();
            let bytes = file.file_descriptor_proto().encode_to_vec();
            base64::engine::general_purpose::STANDARD.encode(bytes)
        };
        let fixed = compiled(&schema(
            &descriptor("shop/order.proto", order),
            vec![reference(&descriptor("address.proto", address))],
        ))
        .unwrap();
        assert_eq!(
            &*fixed.schema.messages[fixed.schema.root].full_name,
            "shop.Order"
        );
    }

    #[test]
    fn unusable_schemas_say_why() {
        let err = compiled(&schema("message {", vec![])).err().unwrap();
        assert!(err.starts_with("does not compile: "), "{err}");
        let err = compiled(&schema("AAAA", vec![])).err().unwrap();
        assert!(err.contains("not a FileDescriptorProto"), "{err}");
        let order =
            "syntax = \"proto3\"; import \"shop/address.proto\"; message O { int32 a = 1; }";
        let err = compiled(&schema(order, vec![])).err().unwrap();
        assert!(err.contains("shop/address.proto"), "{err}");
        let err = compiled(&schema(
            order,
            vec![Reference::new(
                "shop/address.proto",
                "address",
                "2",
                "message {",
            )],
        ))
        .err()
        .unwrap();
        assert!(
            err.starts_with(
                "references `shop/address.proto` (subject `address`, version 2), which does not \
                 compile"
            ),
            "{err}"
        );
        let err = compiled(&schema("syntax = \"proto3\";", vec![]))
            .err()
            .unwrap();
        assert_eq!(
            err,
            "cannot be used: the Protobuf schema defines no message"
        );
    }
}
