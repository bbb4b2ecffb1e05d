"""The city-wide monthly bulletin (通报): callback results and branch performance."""
