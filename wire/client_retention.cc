// Client call for a workspace's message retention, a workspace setting.
#include <string>

#include "wire/client.h"

namespace parley::wire {

// UpdateWorkspaceSettings replaces the other settings too: read them, then write them back with
// the new retention (receipts_max_members is left out, so it stays as it is).
Result<WorkspaceInfoT> Client::SetRetention(uint64_t workspace_id, uint32_t days) {
  Result<std::vector<WorkspaceInfoT>> list = ListWorkspaces();
  if (!list.ok()) return list.error();
  for (const WorkspaceInfoT& w : *list) {
    if (w.id != workspace_id || !w.settings) continue;
    WorkspaceSettingsT settings = *w.settings;
    settings.receipts_max_members.reset();
    settings.retention_days = days;
    return UpdateWorkspaceSettings(workspace_id, settings);
  }
  return MakeError(ErrorCode::kNotFound, "not one of your workspaces", "workspace_id");
}

}  // namespace parley::wire
