package server

import (
	"encoding/json"

	"github.com/prometheus/client_golang/prometheus"
)

// clusterCollector exports how the cluster stands from this hub, as
// /healthz does: quorum, the routes, the stream's leader and the leases
// this hub holds. Alone, a hub exports none of it.
type clusterCollector struct{ m *Metrics }

var (
	clusterQuorumDesc = prometheus.NewDesc("vigil_cluster_quorum",
		"1 when this hub reaches a majority of the cluster (and so appends).", nil, nil)
	clusterRoutedDesc = prometheus.NewDesc("vigil_cluster_peers_routed",
		"The other hubs this hub has routes to.", nil, nil)
	clusterLeaderDesc = prometheus.NewDesc("vigil_cluster_stream_leader",
		"1 for the hub whose node leads the journal's stream (none while one is elected).", []string{"hub"}, nil)
	clusterLeaseDesc = prometheus.NewDesc("vigil_cluster_lease_held",
		"1 for each lease this hub holds: paging, delivery, scrape.<host in hex>.", []string{"lease"}, nil)
)

func (c clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- clusterQuorumDesc
	ch <- clusterRoutedDesc
	ch <- clusterLeaderDesc
	ch <- clusterLeaseDesc
}

func (c clusterCollector) Collect(ch chan<- prometheus.Metric) {
	h := c.m.hub.Load()
	if h == nil {
		return
	}
	cs, ok := h.journal.(clusterStatuser)
	if !ok {
		return
	}
	// The cluster package's Status, read through its JSON: server does
	// not import cluster.
	var st struct {
		Quorum       bool     `json:"quorum"`
		Routed       []string `json:"routed"`
		StreamLeader string   `json:"stream_leader"`
		Leases       []string `json:"leases"`
	}
	b, err := json.Marshal(cs.ClusterStatus())
	if err != nil || json.Unmarshal(b, &st) != nil {
		return
	}
	quorum := 0.0
	if st.Quorum {
		quorum = 1
	}
	ch <- prometheus.MustNewConstMetric(clusterQuorumDesc, prometheus.GaugeValue, quorum)
	ch <- prometheus.MustNewConstMetric(clusterRoutedDesc, prometheus.GaugeValue, float64(len(st.Routed)))
	if st.StreamLeader != "" {
		ch <- prometheus.MustNewConstMetric(clusterLeaderDesc, prometheus.GaugeValue, 1, st.StreamLeader)
	}
	for _, l := range st.Leases {
		ch <- prometheus.MustNewConstMetric(clusterLeaseDesc, prometheus.GaugeValue, 1, l)
	}
}
