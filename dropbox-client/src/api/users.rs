//! Routes of the `users` namespace.

use crate::client::Client;
use crate::error::Result;
use crate::models::users::FullAccount;

/// The `users` routes. Get it with [`Client::users`].
#[derive(Debug, Clone)]
pub struct Users {
    client: Client,
}

impl Client {
    /// The `users` namespace.
    pub fn users(&self) -> Users {
        Users {
            client: self.clone(),
        }
    }
}

impl Users {
    /// `users/get_current_account`: the account the token acts for.
    pub async fn get_current_account(&self) -> Result<FullAccount> {
        self.client.rpc(route::GET_CURRENT_ACCOUNT, &()).await
    }
}

/// The routes of this module and whether each is safe to repeat ([`Idempotency`](crate::Idempotency)).
mod route {
    use crate::route::Route;

    pub(super) const GET_CURRENT_ACCOUNT: Route = Route::idempotent("users/get_current_account");
}
