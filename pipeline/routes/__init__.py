"""Route behaviour tests: where a request goes through Istio Gateways and VirtualServices, checked offline."""
