//! The typed API, one module per resource.

/// Implements `IntoFuture` for a builder with an `async fn send(self)`, so that
/// `builder.await` is the same as `builder.send().await`.
macro_rules! into_future {
    ($builder:ty => $out:ty) => {
        impl std::future::IntoFuture for $builder {
            type Output = $crate::error::Result<$out>;
            type IntoFuture = futures::future::BoxFuture<'static, Self::Output>;
            fn into_future(self) -> Self::IntoFuture {
                Box::pin(self.send())
            }
        }
    };
}

pub mod categories;
pub mod category_definition;
pub mod documents;
pub mod holds;
pub mod members;
pub mod nodes;
pub mod permissions;
pub mod processes;
pub mod records;
pub mod search;
pub mod versioning;
pub mod workflows;
pub mod workspaces;
