//go:build unix

package daemon

import (
	"context"
	"github.com/palyra/palyra-vault/daemon/internal/fixture"
	"testing"

	"github.com/palyra/palyra-vault/daemon/api"
)

// BenchmarkResolve measures one resolve request over the real socket, client
// and daemon in this process, for a held value and a per_use vault value.
// The load benchmark with 64 clients is bench/daemon.
func BenchmarkResolve(b *testing.B) {
	for _, bm := range []struct {
		name string
		req  api.ResolveRequest
	}{
		{"held", api.ResolveRequest{Path: "model_provider.openai_api_key"}},
		{"per_use", api.ResolveRequest{Path: "tool.per"}},
	} {
		b.Run(bm.name, func(b *testing.B) {
			e := newEnv(b, fixture.Secrets(), fixture.Config)
			e.start()
			b.RunParallel(func(pb *testing.PB) {
				c := api.NewClient(e.d.Socket())
				defer c.Close()
				for pb.Next() {
					resp, err := c.Resolve(context.Background(), bm.req)
					if err != nil {
						b.Error(err)
						return
					}
					resp.Value.Wipe()
				}
			})
		})
	}
}
