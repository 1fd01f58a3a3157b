extension ModelCatalog {
    /// Wide-ResNet-50-2 on 224 x 224 ImageNet (Zagoruyko and Komodakis 2016, arXiv:1605.07146), in
    /// torchvision's layout, batch 256 (He et al. 2016's ImageNet recipe). 68.9M parameters: the paper's
    /// ImageNet table and torchvision's `Wide_ResNet50_2_Weights` (68,883,240).
    static let wideResNet50x2 = Entry(
        id: "wrn-50-2",
        description: "Wide-ResNet-50-2: ResNet-50 bottlenecks twice as wide, 224 x 224 ImageNet, 1000 classes",
        publishedParameterCount: 68_900_000,
        source: "Zagoruyko and Komodakis 2016 (arXiv:1605.07146); torchvision wide_resnet50_2: 68,883,240 parameters; batch 256"
    ) { () throws(InputError) -> Graph in
        try WideResNetBuilder(name: "wrn-50-2").build()
    }
}
