package config

import (
	"strings"
	"testing"
)

func TestHistorySection(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"prometheus", "[serve.history]\nprometheus = \"http://prom:9090\"\n", ""},
		{"none", "[serve.history]\nprometheus = \"\"\n", ""},
		{"not http", "[serve]\n\n[serve.history]\nprometheus = \"prom:9090\"\n", "c.toml:4: serve.history.prometheus: expected Prometheus's http:// or https:// base URL"},
		{"unknown key", "[serve.history]\nprometheus_url = \"http://prom:9090\"\n", "c.toml:2: serve.history.prometheus_url: unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("c.toml", tt.src)
			switch {
			case tt.want == "" && err != nil:
				t.Fatal(err)
			case tt.want == "" && (c.Serve.History == nil || !strings.Contains(tt.src, c.Serve.History.Prometheus)):
				t.Fatalf("history %+v", c.Serve.History)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}
