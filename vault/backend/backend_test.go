package backend

import (
	"strings"
	"testing"
)

func TestObjectIDValid(t *testing.T) {
	hex64 := strings.Repeat("0123456789abcdef", 4)
	tests := []struct {
		id   string
		want bool
	}{
		{"obj_" + hex64, true},
		{"obj_" + strings.Repeat("f", 64), true},
		{"obj_" + hex64[:63], false},
		{"obj_" + hex64 + "0", false},
		{"obj_" + strings.ToUpper(hex64), false},
		{"obj_" + hex64[:63] + "g", false},
		{"obj_" + hex64[:63] + "/", false},
		{"obj_" + hex64[:63] + ":", false},
		{"obj_" + hex64[:63] + "`", false},
		{"obj_" + hex64 + "\n", false},
		{"OBJ_" + hex64, false},
		{"obx_" + hex64, false},
		{"xobj_" + hex64[1:], false},
		{hex64, false},
		{"obj_", false},
		{"", false},
		{"obj_../" + hex64[3:], false},
	}
	for _, tt := range tests {
		if got := ObjectID(tt.id).Valid(); got != tt.want {
			t.Errorf("ObjectID(%q).Valid() = %v, want %v", tt.id, got, tt.want)
		}
		if err := CheckID(ObjectID(tt.id)); (err == nil) != tt.want {
			t.Errorf("CheckID(%q) = %v, want valid=%v", tt.id, err, tt.want)
		}
	}
}
