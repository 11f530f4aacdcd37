package history

import (
	"testing"
)

// A Prometheus answer is read from the network: whatever it holds,
// reading it never panics and yields only finite values.
func FuzzPrometheusAnswer(f *testing.F) {
	f.Add([]byte(`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"instance":"web-3:9100"},"values":[[1796622733,"14.58"],[1796622743.5,"NaN"]]}]}}`))
	f.Add([]byte(`{"status":"error","errorType":"bad_data","error":"parse error"}`))
	f.Add([]byte(`{"status":"success","data":{"result":[{"value":["x",1]}]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		series, err := decodePromAnswer(body)
		if err != nil {
			return
		}
		for _, s := range series {
			for _, pt := range append(s.Values, s.Value) {
				if _, v, ok := point(pt); ok && (v != v || v > 1e308 || v < -1e308) {
					t.Fatalf("value %v read as ok", v)
				}
			}
		}
	})
}
