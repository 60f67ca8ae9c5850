//! [`named_enum!`](crate::named_enum): an enum whose variants are written as fixed words (in
//! configs, on the command line, in files), with the word of each variant given once.

/// Defines a fieldless enum with one word per variant, and from that one table: serde
/// (de)serialisation as the word, `as_str`, `Display`, `FromStr` (an unknown word is an error
/// listing the accepted ones) and `ALL`, the variants in order.
///
/// ```
/// nclab_core::named_enum! {
///     /// A colour.
///     pub enum Colour { Red = "red", DarkBlue = "dark-blue" }
/// }
/// assert_eq!("dark-blue".parse::<Colour>(), Ok(Colour::DarkBlue));
/// assert_eq!(Colour::Red.to_string(), "red");
/// assert_eq!(
///     "green".parse::<Colour>().unwrap_err(),
///     "unknown value \"green\", expected one of \"red\", \"dark-blue\""
/// );
/// ```
#[macro_export]
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $word:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        $vis enum $name {
            $($(#[$vmeta])* #[serde(rename = $word)] $variant),+
        }

        impl $name {
            /// Every variant, in the order of the definition.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The word of this variant.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> ::std::result::Result<Self, String> {
                match s {
                    $($word => Ok($name::$variant),)+
                    _ => Err(format!(
                        "unknown value {s:?}, expected one of {}",
                        [$(concat!("\"", $word, "\"")),+].join(", ")
                    )),
                }
            }
        }
    };
}
