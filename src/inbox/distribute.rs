//! The distribution pass: for each channel that hands out conversations, what operators who
//! went away held comes back to the queue (where the channel says so) and the queue goes to
//! whoever has room now. Run by the scheduler on every instance; the rows and the project's
//! lock keep two passes from giving one conversation twice.

use super::Inbox;
use crate::automation::distribution;
use crate::error::Result;

impl Inbox {
    /// Returns how many conversations changed hands.
    pub async fn distribute(&self) -> Result<usize> {
        let mut changed = 0;
        for entry in self.registry.all() {
            if !entry.rules.distribution.picks() {
                continue;
            }
            let ctx = entry.auto_ctx(&self.automation);
            let (pid, channel) = (entry.channel.project_id, entry.channel.id);
            let pass = self
                .store
                .write(move |c| distribution::pass(c, &ctx, pid, channel))
                .await?;
            for c in pass.returned.iter().chain(&pass.given) {
                self.announce(c);
            }
            changed += pass.returned.len() + pass.given.len();
        }
        Ok(changed)
    }
}
