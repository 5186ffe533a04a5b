package order

import "testing"

func TestCourierNames(t *testing.T) {
	for _, tc := range []struct{ given, code, kept string }{
		{"顺丰速运", "sf", "SF Express"},
		{"SF Express", "sf", "SF Express"},
		{" sf express ", "sf", "SF Express"},
		{"SF Express 顺丰", "sf", "SF Express"}, // the console's earlier choice
		{"中通快递", "zto", "ZTO Express"},
		{"京东物流", "jd", "JD Logistics"},
		{"邮政EMS", "ems", "China Post EMS"},
		{"EMS", "ems", "China Post EMS"},
		{"德邦快递", "", "德邦快递"},
		{"  Local courier ", "", "Local courier"},
	} {
		if got := CourierCode(tc.given); got != tc.code {
			t.Errorf("CourierCode(%q) = %q, want %q", tc.given, got, tc.code)
		}
		if got := CourierName(tc.given); got != tc.kept {
			t.Errorf("CourierName(%q) = %q, want %q", tc.given, got, tc.kept)
		}
		if got := CourierCode(CourierName(tc.given)); got != tc.code {
			t.Errorf("CourierCode(CourierName(%q)) = %q, want %q", tc.given, got, tc.code)
		}
	}
	if n := len(CourierCodes()); n != 7 {
		t.Errorf("%d couriers, want 7", n)
	}
}
