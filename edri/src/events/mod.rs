//! Events that come with edri. The store's and the scheduler's events live in
//! [`store`](crate::store) and [`scheduler`](crate::scheduler).

pub mod router;
pub mod test;
