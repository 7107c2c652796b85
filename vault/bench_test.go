package vault

func removeBenchFixtures() {}
