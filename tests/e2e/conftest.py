def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: drives the web page in headless Chromium against `lookmatch serve`")
