"""Text folding for accent-insensitive search of Vietnamese names."""

import unicodedata


def search_key(text: str) -> str:
    """'Hòa An' -> 'hoa an'; 'Đông Khê' -> 'dong khe' (đ has no combining form, so map it)."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.lower().split())
