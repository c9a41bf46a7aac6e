//! How the result structs are declared: each one once, as a list that both the core and the
//! WebAssembly bindings read.
//!
//! A result struct (`GenerationStats`, `Perplexity`, `ModelInfo`, `TrainingStats`,
//! `CacheStats`) is written as the body of an exported macro, `NAME_fields!`
//! ([`generation_stats_fields`], [`perplexity_fields`], [`model_info_fields`],
//! [`training_stats_fields`], [`cache_stats_fields`]), called as `NAME_fields!(result_fields [m
//! ARGS])`:
//!
//! ```text
//! /// Rust documentation
//! #[js_doc = "its documentation for JavaScript and TypeScript users"]
//! #[derive(...)] #[non_exhaustive]      (any other attributes of the struct)
//! struct Name {
//!     /// Rust documentation
//!     #[js_doc = "one line for JavaScript and TypeScript users"]
//!     field: Type,
//!     ...
//! }
//! ```
//!
//! [`result_fields`] reads that form (the only place that does) and hands it to the macro `m` in
//! one line per field. The core makes the struct from it with [`declare_result`]; the bindings
//! make its JavaScript form (camelCase names, a plain object) and its TypeScript interface, so a
//! field added to a declaration reaches JavaScript and the `.d.ts` without an edit there. The
//! core stays plain Rust: the JavaScript documentation is a string, nothing more.
//!
//! [`generation_stats_fields`]: crate::generation_stats_fields
//! [`perplexity_fields`]: crate::perplexity_fields
//! [`model_info_fields`]: crate::model_info_fields
//! [`training_stats_fields`]: crate::training_stats_fields
//! [`cache_stats_fields`]: crate::cache_stats_fields
//! [`result_fields`]: crate::result_fields

/// Reads the declaration of a result struct (see the module documentation) and hands it to the
/// macro `$m`, after the tokens `ARGS` given with it, in one line per field:
///
/// ```text
/// $m! { ARGS; Name [struct attributes, its docs first] "js_doc" {
///     field: Type ["doc line", ...] "js_doc",
///     ...
/// } }
/// ```
///
/// A `NAME_fields!` macro is called as `NAME_fields!(result_fields [$m ARGS])`: the form of a
/// declaration is read here only, for the core ([`declare_result`]) and the bindings alike.
#[doc(hidden)]
#[macro_export]
macro_rules! result_fields {
    ([$m:ident $($args:tt)*];
        $(#[doc = $doc:literal])*
        #[js_doc = $js_doc:literal]
        $(#[$attr:meta])*
        struct $name:ident {
            $(
                $(#[doc = $field_doc:literal])*
                #[js_doc = $field_js_doc:literal]
                $field:ident : $ty:ty,
            )*
        }
    ) => {
        $m! { $($args)*; $name [$(doc = $doc,)* $($attr),*] $js_doc {
            $($field: $ty [$($field_doc),*] $field_js_doc,)*
        } }
    };
}

/// Makes a public result struct (every field public) from its declaration, as [`result_fields`]
/// hands it over; the `js_doc` strings are for the bindings.
macro_rules! declare_result {
    (; $name:ident [$($attr:meta),*] $js_doc:literal {
        $($field:ident: $ty:ty [$($doc:literal),*] $field_js_doc:literal,)*
    }) => {
        $(#[$attr])*
        pub struct $name {
            $($(#[doc = $doc])* pub $field: $ty,)*
        }
    };
}
