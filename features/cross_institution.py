"""Placeholder: indicators of this family are being declared."""
INDICATORS = ()
