package daemon

import "testing"

func TestConnLimiterKeepsTheOwnersShareAndEachUIDsLimit(t *testing.T) {
	const owner = 1000
	type step struct {
		uid     uint32
		acquire bool // false: release
		want    bool // for acquire: admitted
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"per-uid limit", []step{{7, true, true}, {7, true, true}, {7, true, false}, {8, true, true}}},
		{"others share total minus per-uid", []step{
			{7, true, true}, {7, true, true}, {8, true, true}, {8, true, true}, // others: 4 of 6-2
			{9, true, false},                                               // others full
			{owner, true, true}, {owner, true, true}, {owner, true, false}, // the owner's own 2
		}},
		{"release frees a slot", []step{
			{7, true, true}, {7, true, true}, {7, true, false}, {7, false, false}, {7, true, true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newConnLimiter(owner, 6, 2)
			for i, s := range tt.steps {
				if !s.acquire {
					l.release(s.uid)
					continue
				}
				if got := l.acquire(s.uid); got != s.want {
					t.Fatalf("step %d: acquire(%d) = %v, want %v (open %d)", i, s.uid, got, s.want, l.open())
				}
			}
			total := 0
			for _, n := range l.byUID {
				total += n
			}
			if total > 6 || l.open() != total || l.others != total-l.byUID[owner] {
				t.Fatalf("counts: open %d, others %d, byUID %v", l.open(), l.others, l.byUID)
			}
		})
	}
}
