"""Rosters from other departments (职工医保参保名单, 死亡名单, 异地参保名单) matched against
the county's persons: each match is a finding with the effect of a life event."""
