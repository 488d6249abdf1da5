//! Empty: the crate exists to pin and fetch the adapter provider.
