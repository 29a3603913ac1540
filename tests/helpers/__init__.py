"""Helpers the tests share: tiny data sets, toy detectors, test images, servers; imported as
``tests.helpers.<module>``."""
