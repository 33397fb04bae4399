"""NAS proxies ranked against trained mIoU."""
