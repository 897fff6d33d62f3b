"""actions: `intent.detected` → dialogue decision and business API calls → `action.completed`."""
