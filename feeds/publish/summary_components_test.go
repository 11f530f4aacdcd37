package publish

import (
	"encoding/json"
	"testing"
	"time"
)

// summary.json's incidents and scheduled maintenances carry component
// objects, as Statuspage's consumers read them (PROTOCOL.md, "Status page
// compatibility"), each with the component's current status.
func TestSummaryIncidentComponentsAreObjects(t *testing.T) {
	out, err := BuildPage(site, scenario().Snapshot(), t0.Add(time.Hour)).JSON()
	if err != nil {
		t.Fatal(err)
	}
	var generic struct {
		Components            []map[string]any `json:"components"`
		Incidents             []struct{ Components []map[string]any }
		ScheduledMaintenances []struct {
			Components []map[string]any
		} `json:"scheduled_maintenances"`
	}
	if err := json.Unmarshal(out, &generic); err != nil {
		t.Fatalf("components are not objects: %v\n%s", err, out)
	}
	if len(generic.Incidents) == 0 || len(generic.ScheduledMaintenances) == 0 {
		t.Fatalf("the scenario has no incident or maintenance:\n%s", out)
	}
	lists := [][]map[string]any{generic.Components}
	for _, in := range generic.Incidents {
		lists = append(lists, in.Components)
	}
	for _, sm := range generic.ScheduledMaintenances {
		lists = append(lists, sm.Components)
	}
	page := map[string]map[string]any{}
	for _, c := range generic.Components {
		page[c["id"].(string)] = c
	}
	for _, list := range lists {
		if len(list) == 0 {
			t.Fatalf("no components in a list of:\n%s", out)
		}
		for _, c := range list {
			for _, k := range []string{"id", "name", "status", "created_at", "updated_at", "position", "description", "only_show_if_degraded", "group"} {
				if _, ok := c[k]; !ok {
					t.Fatalf("component %v lacks %q", c, k)
				}
			}
			if p := page[c["id"].(string)]; p == nil || p["status"] != c["status"] || p["name"] != c["name"] || p["position"] != c["position"] {
				t.Fatalf("component %v differs from the page's %v", c, p)
			}
		}
	}
}
