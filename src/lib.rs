//! Examples and integration tests of authgate. This package is not published; its
//! library only runs the README's code blocks as doctests.

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
