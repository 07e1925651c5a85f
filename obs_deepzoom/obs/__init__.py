"""The OBS adapter: only what OBS loads (the script, the ctypes bridge into libobs, the filters and the native
shim). Nothing here runs outside OBS except under tests."""
